/*
 * tryon.c - hands -> nails -> quality checks -> paint, for one frame.
 *
 * The engine owns the read-only models; a worker owns everything that must
 * not be shared between threads (XNNPACK runners, the renderer, scratch); a
 * session owns what must persist between one shopper's frames (hand tracks,
 * smoothing, the design and its reference texture).
 */
#include "tryon/tryon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "hand/tracker.h"
#include "image/stats.h"
#include "image/warp.h"
#include "nails/nail_track.h"
#include "nails/palette.h"
#include "nails/reference.h"
#include "nails/render.h"
#include "nails/outline.h"
#include "nails/segment.h"
#include "nails/segment_frame.h"
#include "nails/segment_fuse.h"

#define TAG "tryon"

struct lq_tryon_engine {
    lq_hand_models *models;
    unsigned variants;
    int worker_threads;
    int serial_detect;
    nail_seg_model *nailseg;     /* NULL: segmentation off */
    nail_outline_model *outline; /* NULL: the outline stage off */
};

struct lq_tryon_worker {
    lq_tryon_engine *engine;
    lq_hand_worker *hands;
    nail_renderer *renderer;
    nail_seg *seg;                     /* NULL when the engine has no segmentation model */
    nail_outline *outline;             /* NULL when the engine has no outline model */
    lq_image quality;                  /* LQ_TRYON_QUALITY_SIZE^2 scratch */
    const lq_tryon_session *ref_owner; /* whose reference texture the renderer holds */
    uint64_t ref_generation;
};

struct lq_tryon_session {
    lq_tryon_engine *engine;
    lq_tracker *tracker;
    nail_track *nails;              /* NULL in static mode or without smoothing */
    nail_seg_track *seg_nails;      /* nails found by segmentation alone; same rule */
    nail_seg_fuse_memory *fuse_mem; /* keeps landmark + blob fusion steady; same rule */
    lq_tryon_session_opts opts;
    nail_design design;
    lq_image reference;      /* owned copy, or empty */
    uint64_t ref_generation; /* bumped whenever reference changes */
};

/* Process-wide counter so a recycled session address never matches a stale
 * texture in a worker. Only touched under the caller's session ownership. */
static uint64_t next_generation(void)
{
    static _Atomic unsigned long long gen = 0;
    return (uint64_t)++gen;
}

/* Loads one of our own models (the segmentation or outline network) into
 * *model: from `path` when it is set ("" = none), else <models_dir>/<file>,
 * then <models_dir>/../assets/nailseg/<file> (the repository's layout). A
 * missing or unloadable file leaves *model NULL with one warning naming
 * `what`: the pipeline runs without that stage. */
typedef int (*model_load_fn)(const char *path, void **model, char *err, size_t errlen);

static void load_optional(const char *path, const char *models_dir, const char *file,
                          const char *what, model_load_fn load, void **model)
{
    char paths[2][4200], err[512];
    int n = 0;
    if (path) {
        if (!path[0])
            return;
        snprintf(paths[n++], sizeof paths[0], "%s", path);
    } else {
        snprintf(paths[n++], sizeof paths[0], "%s/%s", models_dir, file);
        snprintf(paths[n++], sizeof paths[0], "%s/../assets/nailseg/%s", models_dir, file);
    }
    for (int i = 0; i < n; i++) {
        int rc = load(paths[i], model, err, sizeof err);
        if (rc == 0)
            return;
        if (rc != LQ_ENOENT || path) {
            LQ_WARN(TAG, "%s: %s off", err, what);
            return;
        }
    }
    LQ_WARN(TAG, "no %s model (%s): %s off", what, paths[n - 1], what);
}

static int load_nailseg(const char *path, void **model, char *err, size_t errlen)
{
    return nail_seg_model_load(path, (nail_seg_model **)model, err, errlen);
}

static int load_outline(const char *path, void **model, char *err, size_t errlen)
{
    return nail_outline_model_load_set(path, (nail_outline_model **)model, err, errlen);
}

int lq_tryon_engine_create(const lq_tryon_engine_opts *opts, lq_tryon_engine **out, char *err,
                           size_t errlen)
{
    if (!opts || !out || !opts->models_dir) {
        if (err && errlen)
            snprintf(err, errlen, "models_dir is required");
        return LQ_EINVAL;
    }
    if (opts->worker_threads < 0 || opts->worker_threads > 64) {
        if (err && errlen)
            snprintf(err, errlen, "worker_threads must be 0..64, not %d", opts->worker_threads);
        return LQ_EINVAL;
    }
    unsigned variants = LQ_HAND_LOAD_FULL | (opts->load_lite ? LQ_HAND_LOAD_LITE : 0u);
    lq_tryon_engine *e = calloc(1, sizeof *e);
    if (!e)
        return LQ_ENOMEM;
    int rc = lq_hand_models_load(opts->models_dir, variants, &e->models, err, errlen);
    if (rc < 0) {
        free(e);
        return rc;
    }
    e->variants = variants;
    e->worker_threads = opts->worker_threads > 0 ? opts->worker_threads : 1;
    e->serial_detect = opts->serial_detect != 0;
    void *m = NULL;
    load_optional(opts->nailseg_path, opts->models_dir, "nailseg.tflite", "nail segmentation",
                  load_nailseg, &m);
    e->nailseg = m;
    m = NULL;
    load_optional(opts->outline_path, opts->models_dir, "outline.tflite", "nail outline",
                  load_outline, &m);
    e->outline = m;
    *out = e;
    return 0;
}

void lq_tryon_engine_destroy(lq_tryon_engine *e)
{
    if (!e)
        return;
    lq_hand_models_destroy(e->models);
    nail_seg_model_destroy(e->nailseg);
    nail_outline_model_destroy(e->outline);
    free(e);
}

int lq_tryon_worker_create(lq_tryon_engine *e, lq_tryon_worker **out)
{
    if (!e || !out)
        return LQ_EINVAL;
    lq_tryon_worker *w = calloc(1, sizeof *w);
    if (!w)
        return LQ_ENOMEM;
    w->engine = e;
    int rc = lq_hand_worker_create(e->models, e->worker_threads, &w->hands);
    if (rc == 0 && !e->serial_detect)
        rc = lq_hand_worker_set_concurrent(w->hands, 1);
    if (rc == 0)
        rc = nail_renderer_create(&w->renderer);
    if (rc == 0)
        rc = lq_image_alloc(&w->quality, LQ_TRYON_QUALITY_SIZE, LQ_TRYON_QUALITY_SIZE);
    if (rc == 0 && e->nailseg)
        rc = nail_seg_create(e->nailseg, &w->seg);
    if (rc == 0 && w->seg) {
        /* Warm-up: one run on a blank image touches the network's buffers
         * now. Otherwise a worker's first frame without a tracked hand, which
         * may come hours into a stream, grows the process by their size
         * (about 7 MB a worker: the soak test saw it as RSS growth). */
        memset(w->quality.data, 0, (size_t)w->quality.stride * (size_t)w->quality.height);
        rc = nail_seg_run(w->seg, &w->quality);
    }
    if (rc == 0 && e->outline)
        rc = nail_outline_create(e->outline, &w->outline);
    if (rc == 0 && w->outline) { /* the same warm-up for the outline network */
        memset(w->quality.data, 0, (size_t)w->quality.stride * (size_t)w->quality.height);
        nail_geom g = {.cx = 64.0f, .cy = 64.0f, .ay = -1.0f, .length = 40.0f, .width = 30.0f};
        nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
        int frc = nail_outline_fit(w->outline, &w->quality, &g, &oo);
        rc = frc < 0 ? frc : 0;
    }
    if (rc < 0) {
        lq_tryon_worker_destroy(w);
        return rc;
    }
    *out = w;
    return 0;
}

void lq_tryon_worker_set_gate(lq_tryon_worker *w, lq_hand_gate_fn gate, void *ud)
{
    if (w)
        lq_hand_worker_set_gate(w->hands, gate, ud);
}

void lq_tryon_worker_destroy(lq_tryon_worker *w)
{
    if (!w)
        return;
    lq_hand_worker_destroy(w->hands);
    nail_renderer_destroy(w->renderer);
    nail_seg_destroy(w->seg);
    nail_outline_destroy(w->outline);
    lq_image_free(&w->quality);
    free(w);
}

int lq_tryon_session_opts_validate(const lq_tryon_session_opts *o, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (!o)
        bad = "opts";
    else if (o->variant != LQ_MODEL_FULL && o->variant != LQ_MODEL_LITE)
        bad = "variant (full or lite)";
    else if (o->max_hands < 1 || o->max_hands > LQ_HAND_MAX)
        bad = "max_hands (1..2)";
    else if (!(o->low_light_luma >= 0.0f && o->low_light_luma <= 255.0f))
        bad = "low_light_luma (0..255)";
    else if (!(o->blur_sharpness >= 0.0f && o->blur_sharpness <= 1.0e6f))
        bad = "blur_sharpness (0..1e6)";
    else if (o->redetect_frames < 1 || o->redetect_frames > 100)
        bad = "redetect_frames (1..100)";
    else if (o->segmentation < 0 || o->segmentation > 2)
        bad = "segmentation (0 off, 1 on, 2 only without a hand)";
    else if (o->outline < 0 || o->outline > 2)
        bad = "outline (0 off, 1 on every frame, 2 in static mode only)";
    if (!bad)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "invalid session option: %s", bad);
    return LQ_EINVAL;
}

int lq_tryon_session_create(lq_tryon_engine *e, const nail_design *design,
                            const lq_tryon_session_opts *opts, lq_tryon_session **out)
{
    char err[160];
    if (!e || !design || !out)
        return LQ_EINVAL;
    if (lq_tryon_session_opts_validate(opts, err, sizeof err) < 0) {
        LQ_WARN(TAG, "%s", err);
        return LQ_EINVAL;
    }
    lq_hand_variant hv = opts->variant == LQ_MODEL_LITE ? LQ_HAND_LITE : LQ_HAND_FULL;
    if (!lq_hand_models_has(e->models, hv)) {
        LQ_WARN(TAG, "the %s models are not loaded", lq_hand_variant_name(hv));
        return LQ_ENOTFOUND;
    }
    lq_tryon_session *s = calloc(1, sizeof *s);
    if (!s)
        return LQ_ENOMEM;
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
    to.variant = hv;
    to.max_hands = opts->max_hands;
    to.smoothing = opts->smoothing && !opts->static_mode;
    to.static_mode = opts->static_mode;
    to.redetect_frames = opts->redetect_frames;
    int rc = lq_tracker_create_shared(e->models, &to, &s->tracker);
    if (rc < 0) {
        free(s);
        return rc;
    }
    if (to.smoothing) {
        nail_track_opts no = NAIL_TRACK_OPTS_DEFAULT;
        rc = nail_track_create(&no, &s->nails);
        if (rc == 0)
            rc = nail_seg_track_create(&s->seg_nails);
        if (rc == 0)
            rc = nail_seg_fuse_memory_create(&s->fuse_mem);
        if (rc < 0) {
            nail_seg_track_destroy(s->seg_nails);
            nail_track_destroy(s->nails);
            lq_tracker_destroy(s->tracker);
            free(s);
            return rc;
        }
    }
    s->engine = e;
    s->opts = *opts;
    s->design = *design;
    s->ref_generation = next_generation();
    *out = s;
    return 0;
}

void lq_tryon_session_set_design(lq_tryon_session *s, const nail_design *design)
{
    if (s && design)
        s->design = *design;
}

int lq_tryon_session_set_reference(lq_tryon_session *s, const lq_image *tex)
{
    if (!s)
        return LQ_EINVAL;
    lq_image copy = {0};
    if (tex) {
        if (tex->width < 1 || tex->height < 1 || tex->width > NAIL_RENDER_REF_MAX_DIM ||
            tex->height > NAIL_RENDER_REF_MAX_DIM)
            return LQ_EINVAL;
        int rc = lq_image_copy(&copy, tex);
        if (rc < 0)
            return rc;
    }
    lq_image_free(&s->reference);
    s->reference = copy;
    s->ref_generation = next_generation();
    return 0;
}

void lq_tryon_session_destroy(lq_tryon_session *s)
{
    if (!s)
        return;
    lq_tracker_destroy(s->tracker);
    nail_track_destroy(s->nails);
    nail_seg_track_destroy(s->seg_nails);
    nail_seg_fuse_memory_destroy(s->fuse_mem);
    lq_image_free(&s->reference);
    free(s);
}

/* Bounding box of all hands' landmarks, grown by 10% on each side and
 * clipped to the frame. Returns 0 if there is no usable box. */
static int hands_bbox(const lq_hands *hands, int fw, int fh, float box[4])
{
    float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int h = 0; h < hands->count; h++)
        for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
            const lq_point3 *p = &hands->hand[h].lm[i];
            if (!isfinite(p->x) || !isfinite(p->y))
                continue;
            x0 = fminf(x0, p->x);
            y0 = fminf(y0, p->y);
            x1 = fmaxf(x1, p->x);
            y1 = fmaxf(y1, p->y);
        }
    if (!(x1 > x0 && y1 > y0))
        return 0;
    float mx = 0.1f * (x1 - x0), my = 0.1f * (y1 - y0);
    box[0] = fmaxf(0.0f, x0 - mx);
    box[1] = fmaxf(0.0f, y0 - my);
    box[2] = fminf((float)fw, x1 + mx);
    box[3] = fminf((float)fh, y1 + my);
    return box[2] - box[0] >= 8.0f && box[3] - box[1] >= 8.0f;
}

/* Luma of the brightest tenth of the image. Without a hand we judge the whole
 * frame, and a lit subject on a dark backdrop (mean luma low, highlights
 * bright) is not a dark frame: only when even its brightest parts are dark
 * is the light too low. */
static float bright_luma(const lq_image *img)
{
    unsigned hist[256] = {0};
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            hist[lq_luma(lq_image_px(img, x, y))]++;
    unsigned target = (unsigned)(img->width * img->height) / 10u, seen = 0;
    for (int v = 255; v >= 0; v--) {
        seen += hist[v];
        if (seen >= target)
            return (float)v;
    }
    return 0.0f;
}

/* Brightness and sharpness of the hand region (the whole frame when there is
 * no hand: a dark frame is the likely reason none was found), resampled to a
 * fixed size so that the figures do not depend on the hand's scale. */
static void measure_quality(lq_tryon_worker *w, const lq_image *frame, const lq_hands *hands,
                            lq_tryon_result *res)
{
    float box[4] = {0.0f, 0.0f, (float)frame->width, (float)frame->height};
    if (hands->count > 0 && !hands_bbox(hands, frame->width, frame->height, box))
        return;
    const float n = (float)LQ_TRYON_QUALITY_SIZE;
    lq_affine M = {{(box[2] - box[0]) / n, 0.0f, box[0], 0.0f, (box[3] - box[1]) / n, box[1]}};
    lq_warp_affine_to_image(frame, &M, LQ_BORDER_REPLICATE, &w->quality);
    lq_luma_stats st;
    if (lq_luma_stats_image(&w->quality, &st) < 0)
        return;
    res->hand_luma = (float)st.mean;
    res->hand_sharpness = (float)st.laplacian_var;
    if (hands->count == 0)
        res->hand_luma = bright_luma(&w->quality);
}

static float overall_confidence(const lq_tryon_result *res)
{
    if (res->hands.count == 0) {
        /* nails found by segmentation alone: half their mean confidence */
        float nail = 0.0f;
        for (int i = 0; i < res->nnails; i++)
            nail += res->nails[i].confidence;
        return res->nnails > 0 ? 0.5f * nail / (float)res->nnails : 0.0f;
    }
    float hand = 0.0f;
    for (int h = 0; h < res->hands.count; h++)
        hand += res->hands.hand[h].presence;
    hand /= (float)res->hands.count;
    if (res->nnails == 0)
        return 0.5f * hand;
    float nail = 0.0f;
    for (int i = 0; i < res->nnails; i++)
        nail += res->nails[i].confidence;
    nail /= (float)res->nnails;
    return hand * (0.5f + 0.5f * nail);
}

/* The renderer keeps one reference texture; give it this session's. */
static int sync_reference(lq_tryon_worker *w, const lq_tryon_session *s)
{
    if (w->ref_owner == s && w->ref_generation == s->ref_generation)
        return 0;
    int rc = nail_renderer_set_reference(w->renderer, s->reference.data ? &s->reference : NULL);
    if (rc < 0)
        return rc;
    w->ref_owner = s;
    w->ref_generation = s->ref_generation;
    return 0;
}

/* Copies n nails, or smooths them when the session smooths. */
static void keep_nails(const nail_geom *in, int n, nail_geom *out, int cap, int *nout)
{
    n = n < cap ? n : cap;
    memcpy(out, in, sizeof *in * (size_t)(n > 0 ? n : 0));
    *nout = n;
}

/* This frame's nails: the landmark nails (nail_locate) and, with the
 * segmentation network, their outlines from its blobs plus the nails it finds
 * on its own (nails/segment_fuse.h; docs/segmentation.md). Hand nails go
 * through the session's nail_track, segmentation-only nails through its
 * nail_seg_track and come last. If the network fails, the landmark nails are
 * used as they are. */
static int find_nails(lq_tryon_worker *w, lq_tryon_session *s, const lq_image *frame,
                      int64_t timestamp_us, lq_tryon_result *res)
{
    nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
    if (s->nails) {
        /* The smoother decides visibility with hysteresis, so it must also
         * see nails that are only just turning away. */
        nail_track_opts no = NAIL_TRACK_OPTS_DEFAULT;
        lo.min_facing = no.hide_facing;
    }
    nail_geom raw[NAIL_MAX], fused[NAIL_MAX];
    int nraw = 0, nhand = 0, nall = 0, rc = 0;
    const int outline =
        w->outline && (s->opts.outline == 1 || (s->opts.outline == 2 && s->opts.static_mode));
    if (res->hands.count > 0 &&
        (rc = nail_locate(frame, &res->hands, &lo, raw, NAIL_MAX, &nraw)) < 0)
        return rc;
    const nail_geom *found = raw;
    nhand = nall = nraw;
    if (w->seg &&
        (s->opts.segmentation == 1 || (s->opts.segmentation == 2 && res->hands.count == 0))) {
        double t = lq_clock_ms();
        /* with tracked hands, only their region: their nails get more of
         * the network's input (nails/segment_frame.h) */
        nail_seg_frame_opts fo = NAIL_SEG_FRAME_OPTS_DEFAULT;
        if (s->opts.static_mode) /* photos: a pass around each nail (about 4 ms each) */
            fo.zoom = NAIL_SEG_ZOOM_EACH;
        else /* video: rule 5 fired on false blobs (a face behind a thumb-up) */
            fo.fuse.distrust_min_blobs = 0;
        rc = nail_seg_find_nails(w->seg, frame, &res->hands, raw, nraw, &fo, fused, NAIL_MAX, &nall,
                                 &nhand, NULL);
        if (rc == 0 && outline) { /* before the memory: it keeps the outlines steady too */
            double to = lq_clock_ms();
            nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
            oo.max_members = s->opts.static_mode ? 0 : 1; /* streams: the first network */
            int orc = nail_outline_fit_all(w->outline, frame, fused, nall, &oo, NULL);
            if (orc < 0)
                LQ_WARN(TAG, "nail outline stage failed (%s): outlines as found", lq_strerror(orc));
            /* nails found by the network alone whose crop shows no nail are gone */
            int k = nhand;
            for (int i = nhand; i < nall; i++)
                if (fused[i].visible)
                    fused[k++] = fused[i];
            nall = k;
            res->t.outline_ms = lq_clock_ms() - to;
        }
        if (rc == 0) {
            found = fused;
            if (s->fuse_mem) /* outlines change shape slowly, move with the landmarks */
                nail_seg_fuse_memory_apply(s->fuse_mem, raw, fused, nraw);
            if (!s->nails) { /* no smoother: drop the landmark nails rule 5 hid */
                int k = 0, hidden = 0;
                for (int i = 0; i < nall; i++) {
                    if (i < nhand && !fused[i].visible) {
                        hidden++;
                        continue;
                    }
                    fused[k++] = fused[i];
                }
                nhand -= hidden;
                nall = k;
            }
        } else {
            LQ_WARN(TAG, "nail segmentation failed (%s): landmark nails only", lq_strerror(rc));
            nhand = nall = nraw;
        }
        res->t.seg_ms = lq_clock_ms() - t - res->t.outline_ms;
    } else if (outline && nraw > 0) { /* landmark nails alone */
        double to = lq_clock_ms();
        nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
        oo.max_members = s->opts.static_mode ? 0 : 1;
        int orc = nail_outline_fit_all(w->outline, frame, raw, nraw, &oo, NULL);
        if (orc < 0)
            LQ_WARN(TAG, "nail outline stage failed (%s): outlines as found", lq_strerror(orc));
        res->t.outline_ms = lq_clock_ms() - to;
    }
    if (s->nails) {
        if (res->hands.count == 0) /* every hand track is lost: so are their nails */
            nail_track_reset(s->nails);
        rc = nail_track_update(s->nails, timestamp_us, &res->hands, found, nhand, res->nails,
                               NAIL_MAX, &res->nnails);
        if (rc < 0)
            return rc;
    } else {
        keep_nails(found, nhand, res->nails, NAIL_MAX, &res->nnails);
    }
    int nseg = 0;
    if (s->seg_nails)
        rc = nail_seg_track_update(s->seg_nails, timestamp_us, found + nhand, nall - nhand,
                                   res->nails + res->nnails, NAIL_MAX - res->nnails, &nseg);
    else
        keep_nails(found + nhand, nall - nhand, res->nails + res->nnails, NAIL_MAX - res->nnails,
                   &nseg);
    res->nnails += nseg;
    res->nails_segmented = nseg;
    return rc;
}

int lq_tryon_process(lq_tryon_worker *w, lq_tryon_session *s, lq_image *frame, int64_t timestamp_us,
                     lq_tryon_result *res)
{
    if (!w || !s || !frame || !res || !frame->data || frame->width < 1 || frame->height < 1)
        return LQ_EINVAL;
    if (w->engine != s->engine)
        return LQ_EINVAL;
    memset(res, 0, sizeof *res);
    double t0 = lq_clock_ms();

    int rc = lq_tracker_process_on(s->tracker, w->hands, frame, timestamp_us, &res->hands);
    if (rc < 0)
        return rc == LQ_EINVAL ? rc : LQ_EMODEL;
    double t1 = lq_clock_ms();
    res->t.palm_ms = res->hands.t.palm_ms;
    res->t.landmark_ms = res->hands.t.landmark_ms;
    res->t.warp_ms = res->hands.t.warp_ms;
    res->t.hands_ms = t1 - t0;

    if (res->hands.count == 0 && !(w->seg && s->opts.segmentation)) {
        if (s->nails) /* every hand track is lost: so are their nails */
            nail_track_reset(s->nails);
        res->problems |= LQ_PROBLEM_NO_HAND;
        measure_quality(w, frame, &res->hands, res);
        if (res->hand_luma < s->opts.low_light_luma)
            res->problems |= LQ_PROBLEM_LOW_LIGHT;
        res->t.total_ms = lq_clock_ms() - t0;
        return 0;
    }

    rc = find_nails(w, s, frame, timestamp_us, res);
    if (rc < 0)
        res->nnails = 0;
    double t2 = lq_clock_ms();
    res->t.nails_ms = t2 - t1;

    measure_quality(w, frame, &res->hands, res);
    if (res->hand_luma < s->opts.low_light_luma)
        res->problems |= LQ_PROBLEM_LOW_LIGHT;
    if (res->hands.count == 0) /* only segmentation looked at this frame */
        res->problems |= LQ_PROBLEM_NO_HAND;
    else if (res->hand_sharpness < s->opts.blur_sharpness)
        res->problems |= LQ_PROBLEM_BLUR;
    /* A hand showing fewer than three nails: the shopper sees little of the design. */
    int best = 0;
    for (int h = 0; h < res->hands.count; h++) {
        int k = 0;
        for (int i = 0; i < res->nnails; i++)
            k += res->nails[i].hand == h && res->nails[i].visible;
        best = k > best ? k : best;
    }
    if (best < 3 && res->hands.count > 0)
        res->problems |= LQ_PROBLEM_PARTIAL_HAND;
    double t3 = lq_clock_ms();
    res->t.quality_ms = t3 - t2;

    for (int i = 0; i < res->nnails; i++)
        if (res->nails[i].visible && res->nails[i].finger >= 0 && res->nails[i].finger < 5)
            res->fingertips_mask |= 1u << res->nails[i].finger;
    res->confidence = overall_confidence(res);

    if (s->opts.paint && res->nnails > 0) {
        rc = sync_reference(w, s);
        if (rc < 0)
            LQ_WARN(TAG, "reference texture not applied: %s", lq_strerror(rc));
        nail_render_stats st;
        rc = nail_render_frame_ex(w->renderer, frame, res->nails, res->nnails, &s->design,
                                  s->opts.seed, &st);
        if (rc < 0)
            return LQ_EINTERNAL;
        res->overlay_applied = st.nails_painted > 0;
        res->npainted = st.nrects;
        memcpy(res->painted, st.rects, (size_t)st.nrects * sizeof st.rects[0]);
    }
    double t4 = lq_clock_ms();
    res->t.paint_ms = t4 - t3;
    res->t.total_ms = t4 - t0;
    return 0;
}

/* A mask of the natural nail outlines found in the photo, or NULL when the
 * photo shows no nail. The caller frees it. */
static uint8_t *reference_nail_mask(lq_tryon_worker *w, const lq_image *photo, int *nails,
                                    int *rc_out)
{
    *nails = 0;
    *rc_out = 0;
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
    to.static_mode = 1;
    to.smoothing = 0;
    lq_tracker *t = NULL;
    int rc = lq_tracker_create_shared(w->engine->models, &to, &t);
    if (rc < 0) {
        *rc_out = rc;
        return NULL;
    }
    lq_hands hands;
    rc = lq_tracker_process_on(t, w->hands, photo, 0, &hands);
    lq_tracker_destroy(t);
    if (rc < 0) {
        *rc_out = rc == LQ_EINVAL ? rc : LQ_EMODEL;
        return NULL;
    }
    nail_geom g[NAIL_MAX];
    int n = 0;
    nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
    if (hands.count == 0 || nail_locate(photo, &hands, &lo, g, NAIL_MAX, &n) < 0 || n == 0)
        return NULL;
    uint8_t *mask = malloc((size_t)photo->width * (size_t)photo->height);
    if (!mask) {
        *rc_out = LQ_ENOMEM;
        return NULL;
    }
    if (nail_geom_rasterize(g, n, mask, photo->width, photo->height, photo->width) < 0) {
        free(mask);
        return NULL;
    }
    *nails = n;
    return mask;
}

int lq_tryon_reference_analyse(lq_tryon_worker *w, const lq_image *photo, lq_tryon_reference *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!w || !photo || !out || !photo->data || photo->width < 1 || photo->height < 1)
        return LQ_EINVAL;
    int rc = 0, nails = 0;
    uint8_t *mask = reference_nail_mask(w, photo, &nails, &rc);
    if (rc < 0)
        return rc;

    nail_palette_opts po = {0};
    po.mask = mask;
    po.mask_stride = photo->width;
    nail_palette pal;
    if (nail_palette_extract(photo, &po, &pal) == 0) {
        nail_rgb c[NAIL_PALETTE_MAX];
        int n = nail_palette_colors(&pal, c, NAIL_PALETTE_MAX);
        if (n > NAIL_MAX_COLORS)
            n = NAIL_MAX_COLORS;
        for (int i = 0; i < n; i++)
            out->colors[i] = c[i];
        out->ncolors = n > 0 ? n : 0;
    }

    nail_texture_opts to = {mask, photo->width, 0};
    nail_texture *tex = malloc(sizeof *tex);
    if (!tex) {
        free(mask);
        return LQ_ENOMEM;
    }
    rc = nail_reference_texture(photo, &to, tex);
    if (rc == 0) {
        lq_image view;
        nail_texture_view(tex, &view);
        rc = lq_image_copy(&out->texture, &view);
    }
    free(tex);
    free(mask);
    if (rc < 0 && rc != LQ_ENOTFOUND) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->nails_found = nails;
    return 0;
}
