/* tracker.c - hand models, per-thread workers and the per-stream tracker. */
#include "hand/tracker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/duo.h"
#include "base/log.h"
#include "hand/landmark.h"
#include "hand/palm.h"
#include "hand/runchoice.h"
#include "hand/roi.h"
#include "model/tflite.h"

#define TRK_ASSOC_IOU 0.5f /* AssociationNormRectCalculator min_similarity_threshold */
#define TRK_MAX_RECTS (2 * LQ_HAND_MAX)
#define TRK_VARIANTS 2

static const char *const variant_names[TRK_VARIANTS] = {"full", "lite"};

const char *lq_hand_variant_name(lq_hand_variant v)
{
    return (unsigned)v < TRK_VARIANTS ? variant_names[v] : "unknown";
}

int lq_hand_variant_parse(const char *s, lq_hand_variant *out)
{
    for (int i = 0; s && i < TRK_VARIANTS; i++) {
        if (strcasecmp(s, variant_names[i]) == 0) {
            *out = (lq_hand_variant)i;
            return 0;
        }
    }
    return LQ_EINVAL;
}

/* ---- models ------------------------------------------------------------ */

struct lq_hand_models {
    xg_net *palm[TRK_VARIANTS];
    xg_net *landmark[TRK_VARIANTS];
};

static int load_net(const char *dir, const char *name, xg_net **out, char *err, size_t errlen)
{
    char path[4096], why[256] = "";
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return LQ_ELIMIT;
    }
    tfl_model *model = NULL;
    int rc = tfl_model_load_file(path, &model, why, sizeof why);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return rc;
    }
    rc = xg_net_create(model, out, why, sizeof why);
    tfl_model_destroy(model);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

static void models_free(lq_hand_models *m)
{
    for (int v = 0; v < TRK_VARIANTS; v++) {
        xg_net_destroy(m->palm[v]);
        xg_net_destroy(m->landmark[v]);
    }
    free(m);
}

int lq_hand_models_load(const char *dir, unsigned variants, lq_hand_models **out, char *err,
                        size_t errlen)
{
    char dummy[8];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!dir || !out || variants == 0 || (variants & ~(unsigned)LQ_HAND_LOAD_ALL)) {
        snprintf(err, errlen, "invalid arguments to lq_hand_models_load");
        return LQ_EINVAL;
    }
    int rc = xg_init();
    if (rc < 0) {
        snprintf(err, errlen, "XNNPACK initialisation failed");
        return rc;
    }
    lq_hand_models *m = calloc(1, sizeof *m);
    if (!m)
        return LQ_ENOMEM;
    for (int v = 0; v < TRK_VARIANTS && rc == 0; v++) {
        if (!(variants & (1u << v)))
            continue;
        char name[64], why[192];
        snprintf(name, sizeof name, "palm_detection_%s.tflite", variant_names[v]);
        rc = load_net(dir, name, &m->palm[v], err, errlen);
        if (rc == 0 && (rc = lq_palm_net_check(m->palm[v], why, sizeof why)) < 0)
            snprintf(err, errlen, "%s/%s: %s", dir, name, why);
        if (rc < 0)
            break;
        snprintf(name, sizeof name, "hand_landmark_%s.tflite", variant_names[v]);
        rc = load_net(dir, name, &m->landmark[v], err, errlen);
        if (rc == 0 && (rc = lq_landmark_net_check(m->landmark[v], why, sizeof why)) < 0)
            snprintf(err, errlen, "%s/%s: %s", dir, name, why);
    }
    if (rc < 0) {
        models_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void lq_hand_models_destroy(lq_hand_models *m)
{
    if (m)
        models_free(m);
}

int lq_hand_models_has(const lq_hand_models *m, lq_hand_variant v)
{
    return m && (unsigned)v < TRK_VARIANTS && m->palm[v] && m->landmark[v];
}

const xg_net *lq_hand_models_palm(const lq_hand_models *m, lq_hand_variant v)
{
    return lq_hand_models_has(m, v) ? m->palm[v] : NULL;
}

const xg_net *lq_hand_models_landmark(const lq_hand_models *m, lq_hand_variant v)
{
    return lq_hand_models_has(m, v) ? m->landmark[v] : NULL;
}

/* ---- workers ----------------------------------------------------------- */

/* With a gate, parallel inference is also a measured choice (runchoice.h):
 * the gate knows about the service's own workers, not about other processes
 * on the cores. */
enum { TRK_PALM = 0, TRK_LANDMARK = 1, TRK_MODELS = 2 };

struct lq_hand_worker {
    const lq_hand_models *models;
    int threads;
    lq_hand_gate_fn gate; /* threads > 1: parallel only when gate(gate_ud) */
    void *gate_ud;
    /* [0]: on the calling thread alone (threads == 1, or gated);
     * [1]: on `threads` threads (threads > 1). */
    lq_palm_detector *palm[2][TRK_VARIANTS];
    lq_landmarker *landmark[2][TRK_VARIANTS];
    lq_palm_detection dets[LQ_PALM_MAX_OUT];
    lq_runchoice choice[TRK_MODELS][TRK_VARIANTS]; /* with a gate: which set is faster */
    int chosen[TRK_MODELS];                         /* set of the run in progress, -1 = untimed */
    lq_duo *side;         /* lq_hand_worker_set_concurrent: a helper thread, else NULL */
};

int lq_hand_worker_create(const lq_hand_models *m, int threads, lq_hand_worker **out)
{
    if (!m || !out || threads < 1 || threads > 64)
        return LQ_EINVAL;
    lq_hand_worker *w = calloc(1, sizeof *w);
    if (!w)
        return LQ_ENOMEM;
    w->models = m;
    w->threads = threads;
    *out = w;
    return 0;
}

void lq_hand_worker_destroy(lq_hand_worker *w)
{
    if (!w)
        return;
    for (int k = 0; k < 2; k++)
        for (int v = 0; v < TRK_VARIANTS; v++) {
            lq_palm_detector_destroy(w->palm[k][v]);
            lq_landmarker_destroy(w->landmark[k][v]);
        }
    lq_duo_destroy(w->side);
    free(w);
}

int lq_hand_worker_set_concurrent(lq_hand_worker *w, int on)
{
    if (!w)
        return LQ_EINVAL;
    if (!on && w->side) {
        lq_duo_destroy(w->side);
        w->side = NULL;
    } else if (on && !w->side) {
        return lq_duo_create(&w->side);
    }
    return 0;
}

void lq_hand_worker_set_gate(lq_hand_worker *w, lq_hand_gate_fn gate, void *ud)
{
    if (!w)
        return;
    w->gate = gate;
    w->gate_ud = ud;
}

/* Creates the runners of a variant on first use (warm-up allocation): the
 * single-thread set when it can be used (threads == 1 or a gate), the
 * parallel set when threads > 1. */
static int worker_prepare(lq_hand_worker *w, lq_hand_variant v)
{
    if (!lq_hand_models_has(w->models, v))
        return LQ_ENOTFOUND;
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        const int threads = k ? w->threads : 1;
        if (k == 0 ? w->threads > 1 && !w->gate : w->threads == 1)
            continue;
        if (!w->palm[k][v])
            rc = lq_palm_detector_create(w->models->palm[v], threads, &w->palm[k][v]);
        if (rc == 0 && !w->landmark[k][v])
            rc = lq_landmarker_create(w->models->landmark[v], threads, &w->landmark[k][v]);
    }
    return rc;
}

/* Which runner set the next inference uses: asked before each inference, so
 * a frame that started alone drops to one thread as soon as another worker
 * gets busy. */
static int worker_set(lq_hand_worker *w, int model, lq_hand_variant v)
{
    w->chosen[model] = -1;
    if (w->threads == 1)
        return 0;
    if (!w->gate)
        return 1;
    if (!w->gate(w->gate_ud))
        return 0;
    return w->chosen[model] = lq_runchoice_pick(&w->choice[model][v]);
}

/* Records the wall time of the run worker_set chose (gate open only). */
static void worker_timed(lq_hand_worker *w, int model, lq_hand_variant v, double ms)
{
    lq_runchoice_record(&w->choice[model][v], w->chosen[model], ms);
}

int lq_hand_worker_prefers_parallel(const lq_hand_worker *w, lq_hand_variant v)
{
    if (!w || (int)v < 0 || (int)v >= TRK_VARIANTS)
        return -1;
    return lq_runchoice_preferred(&w->choice[TRK_LANDMARK][v]);
}

/* ---- trackers ---------------------------------------------------------- */

typedef struct trk_track {
    int id;
    float detection_score;
    lq_hand_rect next_roi; /* from this frame's raw landmarks */
    lq_hand_smoother smoother;
} trk_track;

/* An ROI to run the landmark model on, and where it came from. */
typedef struct trk_rect {
    lq_hand_rect r;
    int track; /* index into the previous tracks, or -1 for a detection */
    float detection_score;
} trk_rect;

struct lq_tracker {
    const lq_hand_models *models;
    lq_tracker_opts o;
    lq_hand_worker *own; /* NULL for shared trackers */
    int ntracks;
    trk_track tracks[LQ_HAND_MAX];
    trk_track next[LQ_HAND_MAX];
    int next_id;
    int frames_since_detect;   /* frames since the palm detector last ran */
};

static int fail_opt(char *err, size_t errlen, const char *msg)
{
    if (err && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return LQ_EINVAL;
}

static int unit_interval(float v)
{
    return isfinite(v) && v >= 0.0f && v <= 1.0f;
}

int lq_tracker_opts_validate(const lq_tracker_opts *o, char *err, size_t errlen)
{
    if (!o)
        return fail_opt(err, errlen, "options: NULL");
    if ((unsigned)o->variant >= TRK_VARIANTS)
        return fail_opt(err, errlen, "variant: must be full or lite");
    if (o->max_hands < 1 || o->max_hands > LQ_HAND_MAX)
        return fail_opt(err, errlen, "max_hands: must be 1 or 2");
    if (!unit_interval(o->min_detection))
        return fail_opt(err, errlen, "min_detection: must be in [0,1]");
    if (!unit_interval(o->min_presence))
        return fail_opt(err, errlen, "min_presence: must be in [0,1]");
    if (!unit_interval(o->min_tracking))
        return fail_opt(err, errlen, "min_tracking: must be in [0,1]");
    if (o->threads < 1 || o->threads > 64)
        return fail_opt(err, errlen, "threads: must be in 1..64");
    if (o->redetect_frames < 1 || o->redetect_frames > 100)
        return fail_opt(err, errlen, "redetect_frames: must be in 1..100");
    if (!(isfinite(o->euro.min_cutoff) && o->euro.min_cutoff > 0.0f && o->euro.min_cutoff <= 1e3f))
        return fail_opt(err, errlen, "euro.min_cutoff: must be in (0,1000] Hz");
    if (!(isfinite(o->euro.beta) && o->euro.beta >= 0.0f && o->euro.beta <= 1e6f))
        return fail_opt(err, errlen, "euro.beta: must be in [0,1e6]");
    if (!(isfinite(o->euro.d_cutoff) && o->euro.d_cutoff > 0.0f && o->euro.d_cutoff <= 1e3f))
        return fail_opt(err, errlen, "euro.d_cutoff: must be in (0,1000] Hz");
    return 0;
}

static int tracker_new(const lq_hand_models *m, const lq_tracker_opts *o, int own, lq_tracker **out)
{
    char err[128];
    if (!m || !o || !out)
        return LQ_EINVAL;
    int rc = lq_tracker_opts_validate(o, err, sizeof err);
    if (rc < 0) {
        LQ_ERROR("tracker", "%s", err);
        return rc;
    }
    if (!lq_hand_models_has(m, o->variant)) {
        LQ_ERROR("tracker", "the %s models are not loaded", lq_hand_variant_name(o->variant));
        return LQ_ENOTFOUND;
    }
    lq_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return LQ_ENOMEM;
    t->models = m;
    t->o = *o;
    t->next_id = 1;
    if (own) {
        rc = lq_hand_worker_create(m, o->threads, &t->own);
        if (rc == 0)
            rc = worker_prepare(t->own, o->variant);
        if (rc < 0) {
            lq_hand_worker_destroy(t->own);
            free(t);
            return rc;
        }
    }
    *out = t;
    return 0;
}

int lq_tracker_create(const lq_hand_models *m, const lq_tracker_opts *o, lq_tracker **out)
{
    return tracker_new(m, o, 1, out);
}

int lq_tracker_create_shared(const lq_hand_models *m, const lq_tracker_opts *o, lq_tracker **out)
{
    return tracker_new(m, o, 0, out);
}

void lq_tracker_destroy(lq_tracker *t)
{
    if (!t)
        return;
    lq_hand_worker_destroy(t->own);
    free(t);
}

void lq_tracker_reset(lq_tracker *t)
{
    if (t) {
        t->ntracks = 0;
        t->frames_since_detect = 0;
    }
}

/* The palm detector runs whenever a hand slot is free, except that with at
 * least one hand tracked it runs only every redetect_frames-th frame. */
static int detector_due(lq_tracker *t)
{
    if (t->ntracks >= t->o.max_hands)
        return 0;
    if (t->ntracks == 0 || t->o.static_mode)
        return 1;
    return t->frames_since_detect + 1 >= t->o.redetect_frames;
}

/* AssociationCalculator::AddElementToList: drop every listed rect the new one
 * overlaps (IoU > threshold), then append it. */
static void assoc_add(trk_rect *list, int *n, const trk_rect *e)
{
    int k = 0;
    for (int i = 0; i < *n; i++)
        if (!(lq_rect_iou(&e->r, &list[i].r) > TRK_ASSOC_IOU))
            list[k++] = list[i];
    list[k++] = *e;
    *n = k;
}

/* Palm detections of this frame as ROIs (at most max_hands, best first).
 * set < 0: the worker picks the runner set (worker_set) and times it;
 * else that set, untimed (the concurrent path, off the worker's thread). */
static int detect_rects(lq_tracker *t, lq_hand_worker *w, int set, const lq_image *img,
                        trk_rect *list, int *n, lq_hand_timings *tm)
{
    int ndet = 0;
    const lq_hand_variant v = t->o.variant;
    const int timed = set < 0;
    if (timed)
        set = worker_set(w, TRK_PALM, v);
    const double t0 = lq_clock_ms();
    int rc = lq_palm_detect(w->palm[set][v], img, t->o.min_detection, w->dets, LQ_PALM_MAX_OUT,
                            &ndet, tm);
    if (rc == 0 && timed)
        worker_timed(w, TRK_PALM, v, lq_clock_ms() - t0);
    if (rc < 0)
        return rc;
    if (ndet > t->o.max_hands)
        ndet = t->o.max_hands; /* ClipDetectionVectorSizeCalculator */
    for (int i = 0; i < ndet; i++) {
        trk_rect e = {.track = -1, .detection_score = w->dets[i].score};
        lq_palm_to_rect(&w->dets[i], img->width, img->height, &e.r);
        if (*n == 0)
            list[(*n)++] = e;
        else
            assoc_add(list, n, &e);
    }
    return 0;
}

/* The concurrent path: the palm detector looks for another hand on one
 * thread while the landmark model follows the tracked hands on the other.
 * Both use the single-thread runners, which are separate objects with their
 * own scratch; each task has its own timings, summed afterwards. The
 * tracked ROIs always reach the landmark model (tracked rects come first and
 * replace overlapping detections, and there are at most max_hands of them),
 * so running them early changes no result. */
typedef struct trk_side {
    lq_tracker *t;
    lq_hand_worker *w;
    const lq_image *img;
    trk_rect *list;
    int *n;
    int palm_rc;
    lq_hand_timings palm_t, lm_t;
    lq_hand lm[LQ_HAND_MAX];
    int lm_rc[LQ_HAND_MAX];
} trk_side;

static void side_task(void *ud, int i)
{
    trk_side *c = ud;
    const lq_hand_variant v = c->t->o.variant;
    if (i == 0) {
        c->palm_rc = detect_rects(c->t, c->w, 0, c->img, c->list, c->n, &c->palm_t);
        return;
    }
    for (int k = 0; k < c->t->ntracks; k++)
        c->lm_rc[k] = lq_landmark_run(c->w->landmark[0][v], c->img, &c->t->tracks[k].next_roi,
                                      &c->lm[k], &c->lm_t);
}

/* Concurrent only with a second thread, one-thread runners, a hand to follow
 * and the gate open (no other frame in progress: otherwise the cores are
 * taken and the split would only add switches). */
static int side_ok(const lq_tracker *t, const lq_hand_worker *w)
{
    const lq_hand_variant v = t->o.variant;
    return w->side && t->ntracks > 0 && !t->o.static_mode && w->palm[0][v] &&
           w->landmark[0][v] && (!w->gate || w->gate(w->gate_ud));
}

static void timings_add(lq_hand_timings *a, const lq_hand_timings *b)
{
    a->palm_ms += b->palm_ms;
    a->landmark_ms += b->landmark_ms;
    a->warp_ms += b->warp_ms;
    a->palm_runs += b->palm_runs;
    a->landmark_runs += b->landmark_runs;
}

int lq_tracker_process_on(lq_tracker *t, lq_hand_worker *w, const lq_image *img,
                          int64_t timestamp_us, lq_hands *out)
{
    if (out) {
        out->count = 0;
        memset(&out->t, 0, sizeof out->t);
    }
    if (!t || !w || !out || !img || !img->data || img->width < 1 || img->height < 1 ||
        img->width > LQ_IMAGE_MAX_DIM || img->height > LQ_IMAGE_MAX_DIM ||
        img->stride < 3 * img->width)
        return LQ_EINVAL;
    if (w->models != t->models)
        return LQ_EINVAL;
    const double t0 = lq_clock_ms();
    int rc = worker_prepare(w, t->o.variant);
    if (rc < 0) {
        t->ntracks = 0;
        return rc;
    }
    if (t->o.static_mode)
        t->ntracks = 0;

    trk_rect list[TRK_MAX_RECTS];
    lq_hand raw[LQ_HAND_MAX]; /* accepted hands before smoothing */
    int n = 0;
    trk_side side_ctx;
    trk_side *side = NULL; /* set: the tracked hands' landmarks are done */
    if (detector_due(t)) {
        t->frames_since_detect = 0;
        if (side_ok(t, w)) {
            side = &side_ctx;
            *side = (trk_side){.t = t, .w = w, .img = img, .list = list, .n = &n};
            (void)lq_duo_run(w->side, side_task, side);
            timings_add(&out->t, &side->palm_t);
            timings_add(&out->t, &side->lm_t);
            rc = side->palm_rc;
        } else {
            rc = detect_rects(t, w, -1, img, list, &n, &out->t);
        }
        if (rc < 0) {
            t->ntracks = 0;
            return rc;
        }
    } else {
        t->frames_since_detect++;
    }
    for (int i = 0; i < t->ntracks; i++) {
        const trk_rect e = {t->tracks[i].next_roi, i, t->tracks[i].detection_score};
        assoc_add(list, &n, &e);
    }

    /* Landmarks on tracked ROIs first, then on new detections, up to
     * max_hands hands: a tracked hand keeps its slot, and a new detection
     * that lands on a hand already found (two ROIs on one hand that the rect
     * association missed) is dropped without using a slot, as MediaPipe
     * Tasks' HandLandmarksDeduplicationCalculator does. */
    int order[TRK_MAX_RECTS], norder = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            if ((list[i].track >= 0) == (pass == 0))
                order[norder++] = i;
    int nnext = 0;
    for (int oi = 0; oi < norder && nnext < t->o.max_hands; oi++) {
        const trk_rect *e = &list[order[oi]];
        lq_hand h;
        if (side && e->track >= 0) {
            h = side->lm[e->track];
            rc = side->lm_rc[e->track];
        } else {
            const int set = worker_set(w, TRK_LANDMARK, t->o.variant);
            const double tl = lq_clock_ms();
            rc = lq_landmark_run(w->landmark[set][t->o.variant], img, &e->r, &h, &out->t);
            if (rc == 0)
                worker_timed(w, TRK_LANDMARK, t->o.variant, lq_clock_ms() - tl);
        }
        if (rc == LQ_EINVAL)
            continue; /* a degenerate ROI (e.g. collapsed landmarks): lose this hand */
        if (rc < 0) {
            t->ntracks = 0;
            out->count = 0;
            return rc;
        }
        const int tracked = e->track >= 0;
        const float thresh = tracked ? t->o.min_tracking : t->o.min_presence;
        if (!(h.presence > thresh))
            continue;
        int dup = 0;
        for (int k = 0; k < out->count && !dup; k++)
            dup = lq_hands_duplicate(&raw[k], &h);
        if (dup)
            continue;
        raw[out->count] = h;
        trk_track *nt = &t->next[nnext++];
        if (tracked) {
            *nt = t->tracks[e->track];
        } else {
            nt->id = t->next_id++;
            nt->detection_score = e->detection_score;
            lq_hand_smoother_reset(&nt->smoother);
        }
        lq_landmarks_to_rect(&h, img->width, img->height, &nt->next_roi);
        h.detection_score = nt->detection_score;
        h.track_id = nt->id;
        if (t->o.smoothing && !t->o.static_mode)
            lq_hand_smoother_apply(&nt->smoother, &t->o.euro, timestamp_us, &h);
        out->hand[out->count++] = h;
    }
    memcpy(t->tracks, t->next, (size_t)nnext * sizeof t->tracks[0]);
    t->ntracks = t->o.static_mode ? 0 : nnext;
    if (t->next_id > 1000000000)
        t->next_id = 1;
    out->t.total_ms = lq_clock_ms() - t0;
    return 0;
}

int lq_tracker_process(lq_tracker *t, const lq_image *img, int64_t timestamp_us, lq_hands *out)
{
    if (out) {
        out->count = 0;
        memset(&out->t, 0, sizeof out->t);
    }
    if (!t)
        return LQ_EINVAL;
    if (!t->own)
        return LQ_ESTATE;
    return lq_tracker_process_on(t, t->own, img, timestamp_us, out);
}
