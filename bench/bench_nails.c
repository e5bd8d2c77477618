/*
 * bench_nails.c - what the nail stage costs per 640x480 frame with two hands.
 *
 * Frames: shared photos with two hands, brought to 640 pixels wide and
 * padded to 640x480 (as a camera frame). Their hands come from the product's
 * tracker (static mode, run once per frame, not timed here: see the hands
 * benchmark). Then, single thread, per frame:
 *   geometry    nail_geom_from_hands (landmarks -> nail frames, visible ones kept)
 *   refinement  nail_refine (outlines fitted to the pixels)
 *   painting    nail_render_frame, for several designs (the frame is restored
 *               from a copy before each run; the copy is not timed)
 * and the sum against the budget (<= 2 ms). Also the nail-mask IoU
 * on ../shared/data/nails through the same pipeline (nail_eval_dataset), and
 * the jitter of the painted nails on a still hand: the RMS frame-to-frame
 * movement of each nail's centre (the outline the renderer paints, after the
 * per-session nail tracker nail_track; also before it), over the still
 * stretch of video/palm_reach (frames 100-202, the hand moves about 1 px a
 * frame there) with the hand tracker in video mode (smoothing on).
 * Segmentation (docs/segmentation.md; models in $LQ_NAILSEG_DIR or
 * <models>/../assets/nailseg): the network's time per 640x480 frame (one
 * thread, wall and thread CPU), the whole tracked try-on frame landmarks
 * only, with it, and with it and the outline stage on every frame, with the
 * painted nails' jitter (palm_reach and asl_hand, frames 100-202), and the
 * cross-validated nail-mask IoU of landmarks, segmentation, both fused, and
 * fused then outlined (outline.h), each image scored by the fold models that
 * did not train on it, per fold, with fused and outlined vs landmarks on
 * every image with a hand. $LQ_NAILSEG_OVERLAYS=DIR writes overlays there;
 * $LQ_OUTLINE_ITERATIONS=N sets the outline stage's fits per nail for the
 * cross-validation (an experiment knob; default the stage's own).
 * Writes <out>/nails.json.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "bench.h"
#include "hand/tracker.h"
#include "image/codec.h"
#include "image/resize.h"
#include "nails/color.h"
#include "nails/design.h"
#include "nails/geometry.h"
#include "nails/nail_eval.h"
#include "nails/nail_track.h"
#include "nails/refine.h"
#include "nails/render.h"
#include "nails/segment.h"
#include "nails/segment_eval.h"
#include "tryon/tryon.h"

#define BUDGET_MS 2.0
#define FRAME_W 640
#define FRAME_H 480
#define MAX_ITERS 400

static const char *const PHOTOS[] = {
    "tfjs_hands_two_dorsal.jpg",
    "kagglenails_d639e532-db67-11e8-9658-0242ac1c0002.jpg",
    "kagglenails_d60f3ecc-db67-11e8-9658-0242ac1c0002.jpg",
};

typedef struct bench_design {
    const char *name;
    nail_shape shape;
    nail_pattern pattern;
    nail_finish finish;
    nail_size size;
    const char *colors;
} bench_design;

/* The first is the reference design for the budget; the others show what
 * the costlier patterns and finishes add. */
static const bench_design DESIGNS[] = {
    {"almond solid glossy", NAIL_SHAPE_ALMOND, NAIL_PATTERN_SOLID, NAIL_FINISH_GLOSSY,
     NAIL_SIZE_MEDIUM, "crimson"},
    {"square french_tips cream", NAIL_SHAPE_SQUARE, NAIL_PATTERN_FRENCH_TIPS, NAIL_FINISH_CREAM,
     NAIL_SIZE_MEDIUM, "pink,white"},
    {"coffin ombre metallic", NAIL_SHAPE_COFFIN, NAIL_PATTERN_OMBRE, NAIL_FINISH_METALLIC,
     NAIL_SIZE_LONG, "purple,pink"},
    {"stiletto glitter shimmer", NAIL_SHAPE_STILETTO, NAIL_PATTERN_GLITTER, NAIL_FINISH_SHIMMER,
     NAIL_SIZE_LONG, "navy,#d4af37,silver"},
    {"oval marble sheer", NAIL_SHAPE_OVAL, NAIL_PATTERN_MARBLE, NAIL_FINISH_SHEER, NAIL_SIZE_MEDIUM,
     "white,gray,#d4af37"},
    {"round floral pearl", NAIL_SHAPE_ROUND, NAIL_PATTERN_FLORAL, NAIL_FINISH_PEARL,
     NAIL_SIZE_MEDIUM, "lightpink,white,gold"},
};
#define N_DESIGNS (sizeof DESIGNS / sizeof DESIGNS[0])
#define N_PHOTOS (sizeof PHOTOS / sizeof PHOTOS[0])

static int make_design(const bench_design *b, nail_design *d)
{
    nail_design_default(d);
    d->base.shape = b->shape;
    d->base.pattern = b->pattern;
    d->base.finish = b->finish;
    d->base.size = b->size;
    nail_design_resolve(d);
    nail_rgb c[NAIL_MAX_COLORS];
    int n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", b->colors);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && n < NAIL_MAX_COLORS;
         t = strtok_r(NULL, ",", &save))
        if (nail_color_parse(t, &c[n]) == 0)
            n++;
    return nail_design_set_colors(d, c, n);
}

/* The photo, 640 wide, centred on a 640x480 canvas (white padding). */
static int load_frame(const lq_bench_ctx *ctx, const char *file, lq_image *out)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/hands/%s", ctx->data_dir, file);
    if (access(path, R_OK) != 0)
        return LQ_ENOENT;
    lq_image src, small;
    int rc = lq_image_load(path, NULL, &src, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench nails: %s\n", err);
        return rc;
    }
    int w = FRAME_W, h = (int)((double)src.height * FRAME_W / src.width + 0.5);
    if (h > FRAME_H) {
        h = FRAME_H;
        w = (int)((double)src.width * FRAME_H / src.height + 0.5);
    }
    rc = lq_image_resize(&src, w, h, LQ_RESIZE_AREA, &small);
    lq_image_free(&src);
    if (rc < 0)
        return rc;
    rc = lq_image_alloc(out, FRAME_W, FRAME_H);
    if (rc == 0) {
        memset(out->data, 255, (size_t)out->stride * FRAME_H);
        int ox = (FRAME_W - w) / 2, oy = (FRAME_H - h) / 2;
        for (int y = 0; y < h; y++)
            memcpy(lq_image_px(out, ox, oy + y), lq_image_px(&small, 0, y), (size_t)w * 3u);
    }
    lq_image_free(&small);
    return rc;
}

static cJSON *stats_json(const lq_bench_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "median_ms", s->median);
    cJSON_AddNumberToObject(o, "p90_ms", s->p90);
    cJSON_AddNumberToObject(o, "min_ms", s->min);
    cJSON_AddNumberToObject(o, "samples", s->n);
    return o;
}

typedef struct frame_result {
    int hands, nails;
    long pixels; /* painted pixels, reference design */
    lq_bench_stats geom, refine, paint[N_DESIGNS];
} frame_result;

static int time_frame(const lq_image *frame, const lq_hands *hands, nail_renderer *r,
                      const nail_design *designs, int iters, frame_result *fr)
{
    static double ms_geom[MAX_ITERS], ms_ref[MAX_ITERS], ms_paint[MAX_ITERS];
    nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
    lo.refine = 0;
    nail_refine_opts ro = NAIL_REFINE_OPTS_DEFAULT;
    nail_geom nails[NAIL_MAX], refined[NAIL_MAX];
    int n = 0;
    lq_image work;
    int rc = lq_image_copy(&work, frame);
    if (rc < 0)
        return rc;
    for (int it = 0; it < iters; it++) {
        double t0 = lq_clock_ms();
        rc = nail_locate(NULL, hands, &lo, nails, NAIL_MAX, &n);
        double t1 = lq_clock_ms();
        memcpy(refined, nails, sizeof nails);
        if (rc == 0)
            rc = nail_refine(frame, refined, n, &ro);
        double t2 = lq_clock_ms();
        if (rc < 0)
            goto out;
        ms_geom[it] = t1 - t0;
        ms_ref[it] = t2 - t1;
    }
    fr->hands = hands->count;
    fr->nails = n;
    fr->geom = lq_bench_summarize(ms_geom, iters);
    fr->refine = lq_bench_summarize(ms_ref, iters);
    for (size_t d = 0; d < N_DESIGNS; d++) {
        for (int it = 0; it < iters + 3; it++) { /* 3 warm-up runs */
            memcpy(work.data, frame->data, (size_t)frame->stride * (size_t)frame->height);
            nail_render_stats st;
            double t0 = lq_clock_ms();
            rc = nail_render_frame_ex(r, &work, refined, n, &designs[d], 1, &st);
            double t1 = lq_clock_ms();
            if (rc < 0)
                goto out;
            if (it >= 3)
                ms_paint[it - 3] = t1 - t0;
            if (d == 0)
                fr->pixels = st.pixels_touched;
        }
        fr->paint[d] = lq_bench_summarize(ms_paint, iters);
    }
out:
    lq_image_free(&work);
    return rc;
}

#define JITTER_TARGET_PX 0.5
#define JITTER_FIRST 100
#define JITTER_LAST 202

typedef struct jitter_stats {
    int pairs;           /* nail centre pairs (same hand track and finger, consecutive frames) */
    double rms_px;       /* RMS of the centre movement over those pairs */
    double rms_width_px; /* RMS of the frame-to-frame width change */
} jitter_stats;

typedef struct jitter_result {
    int frames;           /* frames processed */
    jitter_stats raw;     /* nail_locate's outlines */
    jitter_stats painted; /* after nail_track (what the product paints) */
} jitter_result;

typedef struct jitter_acc {
    nail_geom prev[NAIL_MAX];
    int nprev;
    double sum, sumw;
    int pairs;
} jitter_acc;

static void jitter_add(jitter_acc *a, const nail_geom *cur, int ncur)
{
    for (int i = 0; i < ncur; i++)
        for (int k = 0; k < a->nprev; k++)
            if (cur[i].track_id == a->prev[k].track_id && cur[i].finger == a->prev[k].finger) {
                double dx = cur[i].cx - a->prev[k].cx, dy = cur[i].cy - a->prev[k].cy;
                double dw = cur[i].width - a->prev[k].width;
                a->sum += dx * dx + dy * dy;
                a->sumw += dw * dw;
                a->pairs++;
            }
    memcpy(a->prev, cur, sizeof(nail_geom) * (size_t)ncur);
    a->nprev = ncur;
}

static void jitter_done(const jitter_acc *a, jitter_stats *s)
{
    s->pairs = a->pairs;
    s->rms_px = a->pairs ? sqrt(a->sum / a->pairs) : 0.0;
    s->rms_width_px = a->pairs ? sqrt(a->sumw / a->pairs) : 0.0;
}

/* Centre movement of the nails on consecutive frames of a video, as found
 * (raw) and as painted (after the per-session nail tracker). */
static int measure_jitter(const lq_bench_ctx *ctx, const lq_hand_models *models, const char *video,
                          int first, int last, jitter_result *jr)
{
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT; /* video mode, smoothing on */
    lq_tracker *trk = NULL;
    nail_track_opts no = NAIL_TRACK_OPTS_DEFAULT;
    nail_track *nt = NULL;
    static jitter_acc raw, painted;
    memset(&raw, 0, sizeof raw);
    memset(&painted, 0, sizeof painted);
    memset(jr, 0, sizeof *jr);
    int rc = lq_tracker_create(models, &to, &trk);
    if (rc == 0)
        rc = nail_track_create(&no, &nt);
    for (int i = first; rc == 0 && i <= last; i++) {
        char path[4096], err[256];
        snprintf(path, sizeof path, "%s/video/%s/%04d.webp", ctx->data_dir, video, i);
        if (access(path, R_OK) != 0)
            break;
        lq_image img;
        rc = lq_image_load(path, NULL, &img, err, sizeof err);
        if (rc < 0)
            break;
        lq_hands hands;
        nail_geom found[NAIL_MAX], shown[NAIL_MAX];
        int nfound = 0, nshown = 0;
        int64_t ts = (int64_t)(i - first + 1) * 40000;
        rc = lq_tracker_process(trk, &img, ts, &hands);
        nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
        lo.min_facing = no.hide_facing;
        if (rc == 0)
            rc = nail_locate(&img, &hands, &lo, found, NAIL_MAX, &nfound);
        if (rc == 0)
            rc = nail_track_update(nt, ts, &hands, found, nfound, shown, NAIL_MAX, &nshown);
        lq_image_free(&img);
        if (rc < 0)
            break;
        jitter_add(&raw, found, nfound);
        jitter_add(&painted, shown, nshown);
        jr->frames++;
    }
    nail_track_destroy(nt);
    lq_tracker_destroy(trk);
    jitter_done(&raw, &jr->raw);
    jitter_done(&painted, &jr->painted);
    return rc < 0 ? rc : 0;
}

/* nail_eval_dataset's hands: the product's tracker in static mode. */
static int eval_hands(void *ud, const char *file, const lq_image *img, lq_hands *out)
{
    (void)file;
    int rc = lq_tracker_process((lq_tracker *)ud, img, 0, out);
    return rc == LQ_EINVAL ? (out->count = 0, 0) : rc;
}

/* ---- segmentation --------------------------------------------------- */

static void nailseg_dir(const lq_bench_ctx *ctx, char *dir, size_t len)
{
    const char *env = getenv("LQ_NAILSEG_DIR");
    if (env && env[0])
        snprintf(dir, len, "%s", env);
    else
        snprintf(dir, len, "%s/../assets/nailseg", ctx->models_dir);
}

/* The network alone on a 640x480 frame, one thread. */
static int seg_time_inference(const lq_bench_ctx *ctx, const char *model, int iters, cJSON *out)
{
    char err[512];
    nail_seg_model *m = NULL;
    nail_seg *sg = NULL;
    lq_image frame = {0};
    double *wall = calloc((size_t)iters, sizeof *wall), *cpu = calloc((size_t)iters, sizeof *cpu);
    double *blob = calloc((size_t)iters, sizeof *blob);
    int rc = wall && cpu && blob ? 0 : LQ_ENOMEM;
    if (rc == 0 && (rc = nail_seg_model_load(model, &m, err, sizeof err)) < 0)
        fprintf(stderr, "bench nails: %s\n", err);
    if (rc == 0)
        rc = nail_seg_create(m, &sg);
    if (rc == 0)
        rc = load_frame(ctx, PHOTOS[0], &frame);
    nail_seg_blob b[NAIL_SEG_MAX_BLOBS];
    nail_seg_blob_opts bo = NAIL_SEG_BLOB_OPTS_DEFAULT;
    int nb = 0;
    for (int i = 0; rc == 0 && i < 3; i++) /* warm-up */
        rc = nail_seg_run(sg, &frame);
    for (int i = 0; rc == 0 && i < iters; i++) {
        double c0 = lq_bench_thread_cpu_ms(), t0 = lq_clock_ms();
        rc = nail_seg_run(sg, &frame);
        double t1 = lq_clock_ms(), c1 = lq_bench_thread_cpu_ms();
        if (rc == 0)
            rc = nail_seg_blobs(sg, &frame, &bo, b, NAIL_SEG_MAX_BLOBS, &nb);
        wall[i] = t1 - t0;
        cpu[i] = c1 - c0;
        blob[i] = lq_clock_ms() - t1;
    }
    if (rc == 0) {
        int iw, ih, ow, oh;
        nail_seg_model_sizes(m, &iw, &ih, &ow, &oh);
        lq_bench_stats sw = lq_bench_summarize(wall, iters), sc = lq_bench_summarize(cpu, iters);
        lq_bench_stats sb = lq_bench_summarize(blob, iters);
        cJSON_AddStringToObject(out, "model", model);
        cJSON_AddNumberToObject(out, "input_width", iw);
        cJSON_AddNumberToObject(out, "input_height", ih);
        cJSON_AddNumberToObject(out, "map_width", ow);
        cJSON_AddNumberToObject(out, "map_height", oh);
        cJSON_AddItemToObject(out, "inference_ms", stats_json(&sw));
        cJSON_AddItemToObject(out, "inference_thread_cpu_ms", stats_json(&sc));
        cJSON_AddItemToObject(out, "blobs_ms", stats_json(&sb));
        cJSON_AddNumberToObject(out, "inference_target_ms", 8.0);
        printf("\nnail segmentation (%dx%d input, %s frame 640x480, 1 thread): inference median "
               "%.2f ms (p90 %.2f, thread CPU median %.2f; target <= 8 ms: %s), blobs %.3f ms, "
               "%d blobs\n",
               iw, ih, PHOTOS[0], sw.median, sw.p90, sc.median,
               sc.median <= 8.0 ? "met" : "NOT met", sb.median, nb);
    }
    lq_image_free(&frame);
    nail_seg_destroy(sg);
    nail_seg_model_destroy(m);
    free(wall);
    free(cpu);
    free(blob);
    return rc;
}

/* The whole tracked try-on frame (hands, nails, quality, paint) on a video,
 * with and without segmentation. */
/* Second differences of each nail's centre (same track and finger on three
 * consecutive frames): the part of the movement that is not steady motion,
 * so it measures jitter on a moving hand too. */
typedef struct accel_acc {
    nail_geom prev[2][NAIL_MAX];
    int nprev[2];
    double sum;
    int n;
} accel_acc;

static const nail_geom *find_nail(const nail_geom *g, int n, const nail_geom *key)
{
    for (int i = 0; i < n; i++)
        if (g[i].track_id == key->track_id && g[i].finger == key->finger)
            return &g[i];
    return NULL;
}

static void accel_add(accel_acc *a, const nail_geom *cur, int ncur)
{
    for (int i = 0; i < ncur; i++) {
        const nail_geom *p1 = find_nail(a->prev[0], a->nprev[0], &cur[i]);
        const nail_geom *p2 = find_nail(a->prev[1], a->nprev[1], &cur[i]);
        if (!p1 || !p2)
            continue;
        double ax = cur[i].cx - 2.0 * p1->cx + p2->cx, ay = cur[i].cy - 2.0 * p1->cy + p2->cy;
        a->sum += ax * ax + ay * ay;
        a->n++;
    }
    memcpy(a->prev[1], a->prev[0], sizeof a->prev[0]);
    a->nprev[1] = a->nprev[0];
    memcpy(a->prev[0], cur, sizeof(nail_geom) * (size_t)ncur);
    a->nprev[0] = ncur;
}

/* The whole tracked try-on frame (hands, nails, quality, paint) on a video:
 * landmarks only, with segmentation, and with segmentation and the outline
 * stage on every frame. Three sessions take turns on each frame, so the
 * machine's load hits them alike; wall and thread CPU time. */
static int seg_time_tracked(const lq_bench_ctx *ctx, const char *model, const char *clip,
                            cJSON *out)
{
    char err[512], outline[4200];
    snprintf(outline, sizeof outline, "%s", model);
    char *slash = strrchr(outline, '/');
    snprintf(slash ? slash + 1 : outline,
             sizeof outline - (size_t)(slash ? slash + 1 - outline : 0), "outline.tflite");
    const int with_outline = access(outline, R_OK) == 0;
    lq_tryon_engine_opts eo = {.models_dir = ctx->models_dir,
                               .nailseg_path = model,
                               .outline_path = with_outline ? outline : ""};
    lq_tryon_engine *e = NULL;
    lq_tryon_worker *w = NULL;
    enum { V = 3 };
    lq_tryon_session *s[V] = {NULL, NULL, NULL};
    int rc = lq_tryon_engine_create(&eo, &e, err, sizeof err);
    if (rc == 0)
        rc = lq_tryon_worker_create(e, &w);
    nail_design d;
    if (rc == 0)
        rc = make_design(&DESIGNS[0], &d);
    for (int v = 0; rc == 0 && v < V; v++) {
        lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
        so.segmentation = v > 0;
        so.outline = v == 2 ? 1 : 0;
        rc = lq_tryon_session_create(e, &d, &so, &s[v]);
    }
    enum { N = JITTER_LAST - JITTER_FIRST + 1 };
    static double total[V][N], cpu[V][N], seg[N], oms[N];
    static lq_tryon_result res;
    static jitter_acc jit[V];
    static accel_acc acc[V];
    memset(jit, 0, sizeof jit);
    memset(acc, 0, sizeof acc);
    int frames = 0, nails_seg = 0;
    for (int i = JITTER_FIRST; rc == 0 && i <= JITTER_LAST; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/video/%s/%04d.webp", ctx->data_dir, clip, i);
        lq_image img[V] = {{0}, {0}, {0}};
        if (access(path, R_OK) != 0 || lq_image_load(path, NULL, &img[0], err, sizeof err) < 0)
            break;
        for (int v = 1; rc == 0 && v < V; v++)
            rc = lq_image_copy(&img[v], &img[0]);
        for (int v = 0; rc == 0 && v < V; v++) {
            double c0 = lq_bench_thread_cpu_ms();
            rc = lq_tryon_process(w, s[v], &img[v], (int64_t)(i - JITTER_FIRST + 1) * 40000, &res);
            cpu[v][frames] = lq_bench_thread_cpu_ms() - c0;
            total[v][frames] = res.t.total_ms;
            jitter_add(&jit[v], res.nails, res.nnails);
            accel_add(&acc[v], res.nails, res.nnails);
            if (v == 1) {
                seg[frames] = res.t.seg_ms;
                nails_seg += res.nails_segmented;
            }
            if (v == 2)
                oms[frames] = res.t.outline_ms;
        }
        for (int v = 0; v < V; v++)
            lq_image_free(&img[v]);
        frames += rc == 0;
    }
    if (rc == 0 && frames > 0) {
        static const char *const name[V] = {"landmarks_only", "with_segmentation",
                                            "with_segmentation_and_outline"};
        lq_bench_stats tot[V], tc[V];
        jitter_stats js[V];
        double ac[V];
        char key[96];
        snprintf(key, sizeof key, "tracked_frame_%s", clip);
        cJSON *t = cJSON_AddObjectToObject(out, key);
        cJSON_AddStringToObject(t, "video", clip);
        cJSON_AddNumberToObject(t, "first_frame", JITTER_FIRST);
        cJSON_AddNumberToObject(t, "frames", frames);
        cJSON_AddBoolToObject(t, "outline_model", with_outline);
        for (int v = 0; v < V; v++) {
            tot[v] = lq_bench_summarize(total[v], frames);
            tc[v] = lq_bench_summarize(cpu[v], frames);
            jitter_done(&jit[v], &js[v]);
            ac[v] = acc[v].n ? sqrt(acc[v].sum / acc[v].n) : 0.0;
            snprintf(key, sizeof key, "total_ms_%s", name[v]);
            cJSON_AddItemToObject(t, key, stats_json(&tot[v]));
            snprintf(key, sizeof key, "thread_cpu_ms_%s", name[v]);
            cJSON_AddItemToObject(t, key, stats_json(&tc[v]));
            snprintf(key, sizeof key, "painted_centre_rms_px_%s", name[v]);
            cJSON_AddNumberToObject(t, key, js[v].rms_px);
            snprintf(key, sizeof key, "painted_centre_accel_rms_px_%s", name[v]);
            cJSON_AddNumberToObject(t, key, ac[v]);
            snprintf(key, sizeof key, "painted_width_rms_px_%s", name[v]);
            cJSON_AddNumberToObject(t, key, js[v].rms_width_px);
        }
        lq_bench_stats sg = lq_bench_summarize(seg, frames);
        lq_bench_stats os = lq_bench_summarize(oms, frames);
        cJSON_AddItemToObject(t, "segmentation_ms", stats_json(&sg));
        cJSON_AddItemToObject(t, "outline_ms", stats_json(&os));
        cJSON_AddNumberToObject(t, "nails_found_by_segmentation_alone", nails_seg);
        printf("%s %d-%d, tracked try-on frame, 1 thread: median %.2f ms wall / %.2f ms CPU "
               "landmarks only, %.2f / %.2f with segmentation (segmentation %.2f ms), %.2f / "
               "%.2f with segmentation and outline stage (outline %.2f ms); painted centres "
               "frame-to-frame RMS %.2f / %.2f / %.2f px, second-difference RMS %.2f / %.2f / "
               "%.2f px, width RMS %.2f / %.2f / %.2f px\n",
               clip, JITTER_FIRST, JITTER_FIRST + frames - 1, tot[0].median, tc[0].median,
               tot[1].median, tc[1].median, sg.median, tot[2].median, tc[2].median, os.median,
               js[0].rms_px, js[1].rms_px, js[2].rms_px, ac[0], ac[1], ac[2], js[0].rms_width_px,
               js[1].rms_width_px, js[2].rms_width_px);
    }
    for (int v = 0; v < V; v++)
        lq_tryon_session_destroy(s[v]);
    lq_tryon_worker_destroy(w);
    lq_tryon_engine_destroy(e);
    if (rc < 0)
        fprintf(stderr, "bench nails: tracked frame: %s %s\n", lq_strerror(rc), err);
    return rc;
}

static cJSON *modes_json(const nail_seg_eval_result *r, int what)
{
    cJSON *o = cJSON_CreateObject();
    for (int md = 0; md < NAIL_SEG_EVAL_MODES; md++) {
        const nail_eval_result *e = &r->mode[md];
        double v = what == 0   ? e->mean_iou
                   : what == 1 ? e->mean_iou_hand
                   : what == 2 ? e->precision
                               : e->recall;
        cJSON_AddNumberToObject(o, nail_seg_eval_mode_name(md), v);
    }
    return o;
}

/* Cross-validated IoU of the fold models. */
static int seg_cross_validate(const lq_bench_ctx *ctx, const char *dir, lq_tracker *trk, cJSON *out)
{
    char images[4096], masks[4096];
    snprintf(images, sizeof images, "%s/nails/images", ctx->data_dir);
    snprintf(masks, sizeof masks, "%s/nails/masks", ctx->data_dir);
    nail_seg_eval_opts o = NAIL_SEG_EVAL_OPTS_DEFAULT;
    o.images_dir = images;
    o.masks_dir = masks;
    o.folds_dir = dir;
    o.overlay_dir = getenv("LQ_NAILSEG_OVERLAYS");
    o.partial = 1; /* folds still being trained: score what is there, say so */
    char opath[4200];
    snprintf(opath, sizeof opath, "%s/outline_fold0.tflite", dir);
    o.outline = access(opath, R_OK) == 0;              /* the outline stage's fold models */
    const char *oit = getenv("LQ_OUTLINE_ITERATIONS"); /* an experiment knob: fits per nail */
    if (oit && *oit)
        o.outline_opts.iterations = atoi(oit);
    const char *omi = getenv("LQ_OUTLINE_MIRROR"); /* likewise: 1 = also the mirrored crop */
    if (omi && *omi)
        o.outline_opts.mirror = atoi(omi);
    const char *odr = getenv("LQ_OUTLINE_DROP"); /* likewise: 1 = drop_unseen */
    if (odr && *odr)
        o.outline_opts.drop_unseen = atoi(odr);
    const char *oth = getenv("LQ_OUTLINE_THRESHOLD"); /* likewise: the blob threshold */
    if (oth && *oth)
        o.outline_opts.threshold = (float)atof(oth);
    const char *ofp = getenv("LQ_OUTLINE_FIT_PLATE"); /* likewise: 1 = fit_plate */
    if (ofp && *ofp)
        o.outline_opts.fit_plate = atoi(ofp);
    nail_seg_eval_result *r = calloc(1, sizeof *r);
    if (!r)
        return LQ_ENOMEM;
    int rc = nail_seg_eval_dataset(&o, eval_hands, trk, r);
    if (rc < 0) {
        free(r);
        return rc;
    }
    cJSON *cv = cJSON_AddObjectToObject(out, "cross_validation");
    cJSON_AddNumberToObject(cv, "images", r->mode[0].images);
    cJSON_AddNumberToObject(cv, "images_with_hand", r->mode[0].images_with_hand);
    cJSON_AddNumberToObject(cv, "images_left_out_no_fold_yet", r->left_out);
    if (r->left_out > 0)
        printf("\nWARNING: %d images are in no trained fold yet: the means below cover only "
               "%d images and are not the cross-validated figure\n",
               r->left_out, r->mode[0].images);
    cJSON_AddItemToObject(cv, "mean_iou", modes_json(r, 0));
    cJSON_AddItemToObject(cv, "mean_iou_images_with_hand", modes_json(r, 1));
    cJSON_AddItemToObject(cv, "precision", modes_json(r, 2));
    cJSON_AddItemToObject(cv, "recall", modes_json(r, 3));
    cJSON_AddNumberToObject(cv, "segmentation_ms_per_image_mean", r->seg_ms_mean);
    cJSON_AddBoolToObject(cv, "outline_models", o.outline);
    cJSON_AddNumberToObject(cv, "outline_ms_per_image_mean", r->outline_ms_mean);
    cJSON_AddNumberToObject(cv, "outline_ms_per_image_max", r->outline_ms_max);
    cJSON_AddNumberToObject(cv, "outline_nails_fitted", r->outline_nails);
    cJSON_AddNumberToObject(cv, "outline_nails_kept", r->outline_kept);
    cJSON_AddNumberToObject(cv, "outline_nails_dropped", r->outline_dropped);
    if (o.outline)
        printf("outline stage (outline_fold<k>.tflite): %d nails fitted, %d kept as they were, "
               "%d dropped; %.2f ms per photo mean, %.2f max\n",
               r->outline_nails, r->outline_kept, r->outline_dropped, r->outline_ms_mean,
               r->outline_ms_max);
    else
        printf("no %s: the outline modes repeat fused and landmarks\n", opath);
    cJSON *dj = cJSON_AddObjectToObject(cv, "direction_vs_landmarks");
    cJSON_AddNumberToObject(dj, "context_rule_checked", r->dir_checked[0]);
    cJSON_AddNumberToObject(dj, "context_rule_agreed", r->dir_agree[0]);
    cJSON_AddNumberToObject(dj, "upright_rule_checked", r->dir_checked[1]);
    cJSON_AddNumberToObject(dj, "upright_rule_agreed", r->dir_agree[1]);
    printf("base-to-tip without landmarks vs DIP->TIP (blobs at tracked fingertips): context "
           "rule %d/%d agree, upright rule %d/%d\n",
           r->dir_agree[0], r->dir_checked[0], r->dir_agree[1], r->dir_checked[1]);
    printf("\ncross-validated nail masks (%d images, %d folds; hands found in %d):\n",
           r->mode[0].images, r->folds, r->mode[0].images_with_hand);
    printf("  %-12s %9s %9s %9s %9s", "", "mean IoU", "w/ hand", "precision", "recall");
    for (int k = 0; k < r->folds; k++)
        printf("  fold%d(%d)", k, r->fold_images[k]);
    printf("\n");
    cJSON *folds = cJSON_AddArrayToObject(cv, "folds");
    for (int k = 0; k < r->folds; k++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddNumberToObject(f, "fold", k);
        cJSON_AddNumberToObject(f, "images", r->fold_images[k]);
        cJSON *iou = cJSON_AddObjectToObject(f, "mean_iou");
        for (int md = 0; md < NAIL_SEG_EVAL_MODES; md++)
            cJSON_AddNumberToObject(iou, nail_seg_eval_mode_name(md), r->fold_mean_iou[md][k]);
        cJSON_AddItemToArray(folds, f);
    }
    for (int md = 0; md < NAIL_SEG_EVAL_MODES; md++) {
        const nail_eval_result *e = &r->mode[md];
        printf("  %-12s %9.3f %9.3f %9.3f %9.3f", nail_seg_eval_mode_name(md), e->mean_iou,
               e->mean_iou_hand, e->precision, e->recall);
        for (int k = 0; k < r->folds; k++)
            printf(" %9.3f", r->fold_mean_iou[md][k]);
        printf("\n");
    }
    /* fused and outlined vs landmarks on every image with a hand */
    const nail_eval_result *lm = &r->mode[NAIL_SEG_EVAL_LANDMARKS];
    const nail_eval_result *fu = &r->mode[NAIL_SEG_EVAL_FUSED];
    const nail_eval_result *ol = &r->mode[NAIL_SEG_EVAL_OUTLINED];
    int obetter = 0, oworse = 0, osame = 0;
    double oworst = 0.0;
    cJSON *cmp = cJSON_AddObjectToObject(cv, "fused_vs_landmarks_images_with_hand");
    cJSON *rows = cJSON_AddArrayToObject(cmp, "images");
    int better = 0, worse = 0, same = 0;
    double worst = 0.0;
    printf("  fused vs landmarks where a hand is found:\n");
    for (int i = 0; i < lm->images; i++) {
        if (lm->per[i].hands == 0)
            continue;
        double d = fu->per[i].iou - lm->per[i].iou;
        better += d > 1e-6;
        worse += d < -1e-6;
        same += fabs(d) <= 1e-6;
        worst = d < worst ? d : worst;
        double od = ol->per[i].iou - lm->per[i].iou;
        obetter += od > 1e-6;
        oworse += od < -1e-6;
        osame += fabs(od) <= 1e-6;
        oworst = od < oworst ? od : oworst;
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "file", lm->per[i].file);
        cJSON_AddNumberToObject(row, "fold", r->fold_of[i]);
        cJSON_AddNumberToObject(row, "landmarks", lm->per[i].iou);
        cJSON_AddNumberToObject(row, "fused", fu->per[i].iou);
        cJSON_AddNumberToObject(row, "segment", r->mode[NAIL_SEG_EVAL_SEGMENT].per[i].iou);
        cJSON_AddNumberToObject(row, "outlined", ol->per[i].iou);
        cJSON_AddItemToArray(rows, row);
        printf("    %-40.40s fold %d  landmarks %.3f  fused %.3f  outlined %.3f  segment "
               "%.3f%s%s\n",
               lm->per[i].file, r->fold_of[i], lm->per[i].iou, fu->per[i].iou, ol->per[i].iou,
               r->mode[NAIL_SEG_EVAL_SEGMENT].per[i].iou, d < -1e-6 ? "  WORSE" : "",
               od < -1e-6 ? "  OUTLINED WORSE" : "");
    }
    /* every image's three figures, hand or not (for per-image comparisons of
     * models and settings) */
    cJSON *all = cJSON_AddArrayToObject(cv, "per_image");
    for (int i = 0; i < lm->images; i++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "file", lm->per[i].file);
        cJSON_AddNumberToObject(row, "fold", r->fold_of[i]);
        cJSON_AddNumberToObject(row, "hands", lm->per[i].hands);
        cJSON_AddNumberToObject(row, "landmarks", lm->per[i].iou);
        cJSON_AddNumberToObject(row, "segment", r->mode[NAIL_SEG_EVAL_SEGMENT].per[i].iou);
        cJSON_AddNumberToObject(row, "fused", fu->per[i].iou);
        cJSON_AddNumberToObject(row, "outlined", ol->per[i].iou);
        cJSON_AddNumberToObject(row, "landmarks_outlined",
                                r->mode[NAIL_SEG_EVAL_LANDMARKS_OUTLINED].per[i].iou);
        cJSON_AddItemToArray(all, row);
    }
    /* segmentation mode 2 (only on frames without a hand): landmarks where a
     * hand is found, the network alone elsewhere */
    double mode2 = 0.0;
    for (int i = 0; i < lm->images; i++)
        mode2 += lm->per[i].hands > 0 ? lm->per[i].iou : r->mode[NAIL_SEG_EVAL_SEGMENT].per[i].iou;
    mode2 = lm->images ? mode2 / lm->images : 0.0;
    cJSON_AddNumberToObject(cv, "mean_iou_segmentation_only_without_hand", mode2);
    printf("  session option segmentation=2 (network only where no hand is found): mean IoU %.3f\n",
           mode2);
    cJSON_AddNumberToObject(cmp, "better", better);
    cJSON_AddNumberToObject(cmp, "same", same);
    cJSON_AddNumberToObject(cmp, "worse", worse);
    cJSON_AddNumberToObject(cmp, "largest_drop", -worst);
    printf("  fused better on %d, same on %d, worse on %d (largest drop %.3f)\n", better, same,
           worse, -worst);
    cJSON *ocmp = cJSON_AddObjectToObject(cv, "outlined_vs_landmarks_images_with_hand");
    cJSON_AddNumberToObject(ocmp, "better", obetter);
    cJSON_AddNumberToObject(ocmp, "same", osame);
    cJSON_AddNumberToObject(ocmp, "worse", oworse);
    cJSON_AddNumberToObject(ocmp, "largest_drop", -oworst);
    printf("  outlined better on %d, same on %d, worse on %d (largest drop %.3f)\n", obetter, osame,
           oworse, -oworst);
    free(r);
    return 0;
}

static void bench_segmentation(const lq_bench_ctx *ctx, lq_tracker *trk, int iters, cJSON *root)
{
    char dir[4096], model[4200], folds[4200];
    nailseg_dir(ctx, dir, sizeof dir);
    snprintf(model, sizeof model, "%s/nailseg.tflite", dir);
    snprintf(folds, sizeof folds, "%s/folds.json", dir);
    if (access(model, R_OK) != 0) {
        fprintf(stderr, "bench nails: no %s: segmentation not measured\n", model);
        return;
    }
    cJSON *sj = cJSON_AddObjectToObject(root, "segmentation");
    int rc = seg_time_inference(ctx, model, iters, sj);
    if (rc == 0)
        rc = seg_time_tracked(ctx, model, "palm_reach", sj);
    if (rc == 0)
        rc = seg_time_tracked(ctx, model, "asl_hand", sj);
    if (rc < 0)
        fprintf(stderr, "bench nails: segmentation timing: %s\n", lq_strerror(rc));
    if (access(folds, R_OK) != 0) {
        fprintf(stderr, "bench nails: no %s: no cross-validation\n", folds);
        return;
    }
    rc = seg_cross_validate(ctx, dir, trk, sj);
    if (rc < 0)
        fprintf(stderr, "bench nails: cross-validation: %s\n", lq_strerror(rc));
}

int lq_bench_nails(const lq_bench_ctx *ctx)
{
    const int iters = ctx->quick ? 20 : 200;
    char err[512];
    lq_hand_models *models = NULL;
    int rc = lq_hand_models_load(ctx->models_dir, LQ_HAND_LOAD_FULL, &models, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench nails: %s\n", err);
        return rc;
    }
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
    to.static_mode = 1;
    to.smoothing = 0;
    lq_tracker *trk = NULL;
    nail_renderer *r = NULL;
    nail_eval_result *ev = NULL;
    cJSON *root = cJSON_CreateObject();
    rc = lq_tracker_create(models, &to, &trk);
    if (rc == 0)
        rc = nail_renderer_create(&r);
    if (rc < 0)
        goto done;
    nail_design designs[N_DESIGNS];
    for (size_t d = 0; d < N_DESIGNS; d++)
        if ((rc = make_design(&DESIGNS[d], &designs[d])) < 0)
            goto done;

    cJSON_AddStringToObject(root, "benchmark", "nails");
    cJSON_AddNumberToObject(root, "frame_width", FRAME_W);
    cJSON_AddNumberToObject(root, "frame_height", FRAME_H);
    cJSON_AddNumberToObject(root, "threads", 1);
    cJSON_AddNumberToObject(root, "budget_ms", BUDGET_MS);
    cJSON *frames = cJSON_AddArrayToObject(root, "frames");
    printf("%-34s %5s %6s %9s %9s %9s %9s\n", "per 640x480 frame (1 thread)", "nails", "px",
           "geom ms", "refine ms", "paint ms", "total ms");
    double worst_total = 0, worst_design_total = 0, sum_total = 0;
    int measured = 0;
    for (size_t p = 0; p < N_PHOTOS; p++) {
        lq_image frame;
        rc = load_frame(ctx, PHOTOS[p], &frame);
        if (rc == LQ_ENOENT) {
            fprintf(stderr, "bench nails: %s missing, skipped\n", PHOTOS[p]);
            continue;
        }
        if (rc < 0)
            goto done;
        lq_hands hands;
        rc = lq_tracker_process(trk, &frame, 0, &hands);
        frame_result fr;
        memset(&fr, 0, sizeof fr);
        if (rc == 0)
            rc = time_frame(&frame, &hands, r, designs, iters, &fr);
        lq_image_free(&frame);
        if (rc < 0)
            goto done;
        double total = fr.geom.median + fr.refine.median + fr.paint[0].median;
        double worst_d = 0;
        for (size_t d = 0; d < N_DESIGNS; d++)
            worst_d = fr.paint[d].median > worst_d ? fr.paint[d].median : worst_d;
        printf("%-34.34s %5d %6ld %9.3f %9.3f %9.3f %9.3f  %s\n", PHOTOS[p], fr.nails, fr.pixels,
               fr.geom.median, fr.refine.median, fr.paint[0].median, total,
               total <= BUDGET_MS ? "ok" : "OVER BUDGET");
        for (size_t d = 1; d < N_DESIGNS; d++)
            printf("    paint %-28s %28.3f\n", DESIGNS[d].name, fr.paint[d].median);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "photo", PHOTOS[p]);
        cJSON_AddNumberToObject(f, "hands", fr.hands);
        cJSON_AddNumberToObject(f, "nails", fr.nails);
        cJSON_AddNumberToObject(f, "painted_pixels", (double)fr.pixels);
        cJSON_AddItemToObject(f, "geometry", stats_json(&fr.geom));
        cJSON_AddItemToObject(f, "refinement", stats_json(&fr.refine));
        cJSON *pd = cJSON_AddObjectToObject(f, "painting");
        for (size_t d = 0; d < N_DESIGNS; d++)
            cJSON_AddItemToObject(pd, DESIGNS[d].name, stats_json(&fr.paint[d]));
        cJSON_AddNumberToObject(f, "total_median_ms", total);
        cJSON_AddNumberToObject(f, "total_worst_design_median_ms",
                                fr.geom.median + fr.refine.median + worst_d);
        cJSON_AddItemToArray(frames, f);
        worst_total = total > worst_total ? total : worst_total;
        double wd = fr.geom.median + fr.refine.median + worst_d;
        worst_design_total = wd > worst_design_total ? wd : worst_design_total;
        sum_total += total;
        measured++;
    }
    if (measured == 0) {
        rc = LQ_ENOENT;
        goto done;
    }
    cJSON_AddNumberToObject(root, "total_median_ms_mean", sum_total / measured);
    cJSON_AddNumberToObject(root, "total_median_ms_worst_frame", worst_total);
    cJSON_AddNumberToObject(root, "total_median_ms_worst_frame_worst_design", worst_design_total);
    cJSON_AddBoolToObject(root, "within_budget", worst_total <= BUDGET_MS);
    printf("\ngeometry + refinement + painting (%s): mean %.3f ms, worst frame %.3f ms "
           "(budget %.1f ms: %s); costliest design %.3f ms\n",
           DESIGNS[0].name, sum_total / measured, worst_total, BUDGET_MS,
           worst_total <= BUDGET_MS ? "met" : "NOT met", worst_design_total);

    /* nail-mask quality through the same pipeline */
    char images[4096], masks[4096];
    snprintf(images, sizeof images, "%s/nails/images", ctx->data_dir);
    snprintf(masks, sizeof masks, "%s/nails/masks", ctx->data_dir);
    ev = calloc(1, sizeof *ev);
    if (!ev) {
        rc = LQ_ENOMEM;
        goto done;
    }
    nail_eval_opts eo = NAIL_EVAL_OPTS_DEFAULT;
    eo.images_dir = images;
    eo.masks_dir = masks;
    int erc = nail_eval_dataset(&eo, eval_hands, trk, ev);
    if (erc == 0) {
        cJSON *q = cJSON_AddObjectToObject(root, "mask_quality");
        cJSON_AddNumberToObject(q, "images", ev->images);
        cJSON_AddNumberToObject(q, "images_with_hand", ev->images_with_hand);
        cJSON_AddNumberToObject(q, "mean_iou", ev->mean_iou);
        cJSON_AddNumberToObject(q, "mean_iou_images_with_hand", ev->mean_iou_hand);
        cJSON_AddNumberToObject(q, "precision", ev->precision);
        cJSON_AddNumberToObject(q, "recall", ev->recall);
        printf("nail masks (%d images, hands found in %d): mean IoU %.3f (%.3f where a hand "
               "was found), precision %.3f, recall %.3f\n",
               ev->images, ev->images_with_hand, ev->mean_iou, ev->mean_iou_hand, ev->precision,
               ev->recall);
    } else {
        fprintf(stderr, "bench nails: mask evaluation skipped: %s\n", lq_strerror(erc));
    }
    jitter_result jr;
    int jrc = measure_jitter(ctx, models, "palm_reach", JITTER_FIRST, JITTER_LAST, &jr);
    if (jrc == 0 && jr.painted.pairs > 0) {
        cJSON *j = cJSON_AddObjectToObject(root, "jitter");
        cJSON_AddStringToObject(j, "video", "palm_reach");
        cJSON_AddNumberToObject(j, "first_frame", JITTER_FIRST);
        cJSON_AddNumberToObject(j, "frames", jr.frames);
        cJSON_AddNumberToObject(j, "nail_pairs", jr.painted.pairs);
        cJSON_AddNumberToObject(j, "centre_rms_px", jr.painted.rms_px);
        cJSON_AddNumberToObject(j, "width_rms_px", jr.painted.rms_width_px);
        cJSON_AddNumberToObject(j, "raw_centre_rms_px", jr.raw.rms_px);
        cJSON_AddNumberToObject(j, "raw_width_rms_px", jr.raw.rms_width_px);
        cJSON_AddNumberToObject(j, "target_px", JITTER_TARGET_PX);
        cJSON_AddBoolToObject(j, "within_target", jr.painted.rms_px <= JITTER_TARGET_PX);
        printf("jitter on a still hand (palm_reach %d-%d, %d nail pairs): painted centre RMS "
               "%.2f px (target <= %.1f: %s), width RMS %.2f px; before nail_track %.2f px\n",
               JITTER_FIRST, JITTER_FIRST + jr.frames - 1, jr.painted.pairs, jr.painted.rms_px,
               JITTER_TARGET_PX, jr.painted.rms_px <= JITTER_TARGET_PX ? "met" : "NOT met",
               jr.painted.rms_width_px, jr.raw.rms_px);
    } else {
        fprintf(stderr, "bench nails: jitter not measured: %s\n",
                jrc < 0 ? lq_strerror(jrc) : "no nail seen on consecutive frames");
    }
    bench_segmentation(ctx, trk, ctx->quick ? 10 : 100, root);
    char *text = cJSON_Print(root);
    rc = text && lq_bench_write(ctx, "nails.json", text) == 0 ? 0 : LQ_EIO;
    free(text);
done:
    if (rc < 0 && rc != LQ_EIO)
        fprintf(stderr, "bench nails: %s\n", lq_strerror(rc));
    free(ev);
    cJSON_Delete(root);
    nail_renderer_destroy(r);
    lq_tracker_destroy(trk);
    lq_hand_models_destroy(models);
    return rc;
}
