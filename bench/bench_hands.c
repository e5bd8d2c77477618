/*
 * bench_hands.c - how fast the hand pipeline runs on this machine.
 *
 * Measures, single-threaded unless stated:
 *   - model load time (read + validate + compile to XNNPACK) per variant;
 *   - each model's inference latency (median, p90) with 1 and 2 threads,
 *     on inputs warped from a real 640x480 frame;
 *   - per 640x480 frame (video/palm_reach, one hand) the whole pipeline:
 *     detect mode (static: palm detector + landmarks on every frame) and
 *     tracking mode (max 1 hand: the landmark model on the ROI carried over
 *     from the previous frame, warp included);
 *   - peak RSS.
 * Writes <out>/hands.json and prints a table with the targets of issue 2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "bench.h"
#include "hand/landmark.h"
#include "hand/palm.h"
#include "hand/tracker.h"
#include "image/codec.h"
#include "image/warp.h"

#define TARGET_LANDMARK_FULL_MS 9.0
#define TARGET_PALM_FULL_MS 11.0
#define TARGET_TRACKED_FULL_MS 10.0
#define MAX_FRAMES 400

static int load_frame(const lq_bench_ctx *ctx, const char *video, int index, lq_image *img)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/video/%s/%04d.webp", ctx->data_dir, video, index);
    if (access(path, R_OK) != 0)
        return LQ_ENOENT;
    const int rc = lq_image_load(path, NULL, img, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "bench hands: %s\n", err);
    return rc;
}

static cJSON *stats_json(const lq_bench_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "median_ms", s->median);
    cJSON_AddNumberToObject(o, "p90_ms", s->p90);
    cJSON_AddNumberToObject(o, "p99_ms", s->p99);
    cJSON_AddNumberToObject(o, "max_ms", s->max);
    cJSON_AddNumberToObject(o, "min_ms", s->min);
    cJSON_AddNumberToObject(o, "mean_ms", s->mean);
    cJSON_AddNumberToObject(o, "samples", s->n);
    return o;
}

/* Median load time of one variant's two models, in ms. */
static double time_load(const lq_bench_ctx *ctx, lq_hand_variant v, int reps)
{
    double ms[8];
    char err[512];
    for (int r = 0; r < reps; r++) {
        lq_hand_models *m = NULL;
        const double t0 = lq_clock_ms();
        if (lq_hand_models_load(ctx->models_dir, 1u << v, &m, err, sizeof err) < 0) {
            fprintf(stderr, "bench hands: %s\n", err);
            return -1;
        }
        ms[r] = lq_clock_ms() - t0;
        lq_hand_models_destroy(m);
    }
    return lq_bench_summarize(ms, reps).median;
}

/* Inference latency of one net with `threads` threads; the input is filled
 * by fill(). */
static int time_model(const xg_net *net, int threads, const float *input, size_t n_in, int iters,
                      lq_bench_stats *out, lq_bench_stats *cpu_out)
{
    xg_runner *r = NULL;
    int rc = xg_runner_create(net, threads, &r);
    if (rc < 0)
        return rc;
    memcpy(xg_runner_input(r, 0), input, n_in * sizeof(float));
    double *ms = malloc(sizeof(double) * (size_t)iters * 2);
    if (!ms) {
        xg_runner_destroy(r);
        return LQ_ENOMEM;
    }
    double *cpu = ms + iters;
    for (int i = 0; i < 10 && rc == 0; i++) /* warm-up */
        rc = xg_runner_invoke(r);
    for (int i = 0; i < iters && rc == 0; i++) {
        const double t0 = lq_clock_ms(), c0 = lq_bench_thread_cpu_ms();
        rc = xg_runner_invoke(r);
        ms[i] = lq_clock_ms() - t0;
        cpu[i] = lq_bench_thread_cpu_ms() - c0;
    }
    if (rc == 0) {
        *out = lq_bench_summarize(ms, iters);
        *cpu_out = lq_bench_summarize(cpu, iters);
    }
    free(ms);
    xg_runner_destroy(r);
    return rc;
}

typedef struct pipe_result {
    lq_bench_stats total, cpu, palm, landmark, warp;
    lq_bench_stats searched; /* wall time of frames where the detector ran beside a tracked hand */
    int frames, with_hand, palm_runs;
} pipe_result;

/* Runs a tracker over the frames of `video` (decoding is not timed). With
 * only_tracked, frames where the palm detector ran are left out. */
static int time_pipeline_ex(const lq_bench_ctx *ctx, const lq_hand_models *m,
                            lq_hand_variant v, int static_mode, int max_hands, int only_tracked,
                            int redetect_frames, int concurrent, const char *video,
                            int max_frames, pipe_result *out)
{
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.variant = v;
    o.static_mode = static_mode;
    o.max_hands = max_hands;
    o.redetect_frames = redetect_frames;
    lq_tracker *t = NULL;
    lq_hand_worker *w = NULL;
    int rc = lq_tracker_create_shared(m, &o, &t);
    if (rc == 0)
        rc = lq_hand_worker_create(m, 1, &w);
    if (rc == 0 && concurrent)
        rc = lq_hand_worker_set_concurrent(w, 1);
    if (rc < 0) {
        lq_hand_worker_destroy(w);
        lq_tracker_destroy(t);
        return rc;
    }
    static double tot[MAX_FRAMES], cpu[MAX_FRAMES], palm[MAX_FRAMES], lmk[MAX_FRAMES],
        warp[MAX_FRAMES], searched[MAX_FRAMES];
    int n = 0, ns = 0, prev_count = 0;
    memset(out, 0, sizeof *out);
    for (int i = 1; i <= max_frames && i <= MAX_FRAMES; i++) {
        lq_image img = {0};
        rc = load_frame(ctx, video, i, &img);
        if (rc == LQ_ENOENT) {
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
        lq_hands h;
        const double c0 = lq_bench_thread_cpu_ms();
        const int tracked_before = out->with_hand > 0 && prev_count > 0;
        rc = lq_tracker_process_on(t, w, &img, (int64_t)(i - 1) * 40000, &h);
        const double c1 = lq_bench_thread_cpu_ms();
        lq_image_free(&img);
        if (rc < 0)
            break;
        out->frames++;
        out->with_hand += h.count > 0;
        out->palm_runs += h.t.palm_runs;
        if (tracked_before && h.t.palm_runs && h.count > 0 && i > 1)
            searched[ns++] = h.t.total_ms;
        prev_count = h.count;
        if (only_tracked && (h.t.palm_runs || h.count == 0))
            continue;
        tot[n] = h.t.total_ms;
        cpu[n] = c1 - c0;
        palm[n] = h.t.palm_ms;
        lmk[n] = h.t.landmark_ms;
        warp[n] = h.t.warp_ms;
        n++;
    }
    lq_tracker_destroy(t);
    lq_hand_worker_destroy(w);
    if (rc < 0)
        return rc;
    out->searched = lq_bench_summarize(searched, ns);
    out->total = lq_bench_summarize(tot, n);
    out->cpu = lq_bench_summarize(cpu, n);
    out->palm = lq_bench_summarize(palm, n);
    out->landmark = lq_bench_summarize(lmk, n);
    out->warp = lq_bench_summarize(warp, n);
    return n > 0 ? 0 : LQ_ENOTFOUND;
}

static int time_pipeline(const lq_bench_ctx *ctx, const lq_hand_models *m, lq_hand_variant v,
                         int static_mode, int max_hands, int only_tracked, const char *video,
                         int max_frames, pipe_result *out)
{
    return time_pipeline_ex(ctx, m, v, static_mode, max_hands, only_tracked, 1, 0, video,
                            max_frames, out);
}

static cJSON *pipe_json(const pipe_result *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "total", stats_json(&p->total));
    cJSON_AddItemToObject(o, "total_thread_cpu", stats_json(&p->cpu));
    cJSON_AddItemToObject(o, "palm", stats_json(&p->palm));
    cJSON_AddItemToObject(o, "landmark", stats_json(&p->landmark));
    cJSON_AddItemToObject(o, "warp", stats_json(&p->warp));
    cJSON_AddNumberToObject(o, "frames", p->frames);
    cJSON_AddNumberToObject(o, "frames_with_hand", p->with_hand);
    cJSON_AddNumberToObject(o, "palm_detector_runs", p->palm_runs);
    return o;
}

static const char *verdict(double v, double target)
{
    return v <= target ? "ok" : "MISSED";
}

int lq_bench_hands(const lq_bench_ctx *ctx)
{
    const int iters = ctx->quick ? 20 : 200;
    const int frames = ctx->quick ? 30 : MAX_FRAMES;
    cJSON *root = cJSON_CreateObject();
    double load[3] = {0};
    getloadavg(load, 3);
    cJSON *mach = cJSON_AddObjectToObject(root, "machine");
    cJSON_AddNumberToObject(mach, "cpus_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(mach, "loadavg_1min_at_start", load[0]);

    /* Load times. */
    const double load_full = time_load(ctx, LQ_HAND_FULL, 3);
    const double load_lite = time_load(ctx, LQ_HAND_LITE, 3);
    if (load_full < 0 || load_lite < 0) {
        cJSON_Delete(root);
        return LQ_ENOENT;
    }
    char err[512];
    lq_hand_models *m = NULL;
    int rc = lq_hand_models_load(ctx->models_dir, LQ_HAND_LOAD_ALL, &m, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench hands: %s\n", err);
        cJSON_Delete(root);
        return rc;
    }
    cJSON *jl = cJSON_AddObjectToObject(root, "model_load_ms");
    cJSON_AddNumberToObject(jl, "full", load_full);
    cJSON_AddNumberToObject(jl, "lite", load_lite);

    /* Model inputs from a real frame: the letterboxed frame for the palm
     * detector, a centred square ROI for the landmark model. */
    lq_image frame = {0};
    rc = load_frame(ctx, "palm_reach", 100, &frame);
    if (rc < 0) {
        lq_hand_models_destroy(m);
        cJSON_Delete(root);
        return rc;
    }
    static float palm_in[LQ_PALM_INPUT * LQ_PALM_INPUT * 3];
    static float lm_in[LQ_LANDMARK_INPUT * LQ_LANDMARK_INPUT * 3];
    float px, py;
    const lq_affine Mp = lq_affine_letterbox(frame.width, frame.height, LQ_PALM_INPUT, &px, &py);
    lq_warp_affine_to_tensor(&frame, &Mp, LQ_PALM_INPUT, LQ_PALM_INPUT, 1.0f / 255.0f, 0.0f,
                             LQ_BORDER_ZERO, palm_in);
    const lq_affine Ml = lq_affine_roi(frame.width / 2.0f, frame.height / 2.0f, 300.0f, 300.0f,
                                       0.3f, LQ_LANDMARK_INPUT, LQ_LANDMARK_INPUT);
    lq_warp_affine_to_tensor(&frame, &Ml, LQ_LANDMARK_INPUT, LQ_LANDMARK_INPUT, 1.0f / 255.0f, 0.0f,
                             LQ_BORDER_REPLICATE, lm_in);
    /* Warp cost alone (the landmark ROI from a 640x480 frame). */
    double wms[200];
    for (int i = 0; i < 200; i++) {
        const double t0 = lq_clock_ms();
        lq_warp_affine_to_tensor(&frame, &Ml, LQ_LANDMARK_INPUT, LQ_LANDMARK_INPUT, 1.0f / 255.0f,
                                 0.0f, LQ_BORDER_REPLICATE, lm_in);
        wms[i] = lq_clock_ms() - t0;
    }
    const lq_bench_stats warp_stats = lq_bench_summarize(wms, 200);
    lq_image_free(&frame);

    printf("%-22s %7s %10s %8s %10s   %s\n", "model", "threads", "median ms", "p90 ms", "cpu ms",
           "target (1 thread)");
    cJSON *jm = cJSON_AddObjectToObject(root, "models");
    double palm_full_1 = 0, lm_full_1 = 0, palm_full_cpu = 0, lm_full_cpu = 0;
    for (int v = 0; v < 2 && rc == 0; v++) {
        for (int kind = 0; kind < 2 && rc == 0; kind++) {
            const xg_net *net = kind == 0 ? lq_hand_models_palm(m, (lq_hand_variant)v)
                                          : lq_hand_models_landmark(m, (lq_hand_variant)v);
            char name[64];
            snprintf(name, sizeof name, "%s_%s", kind == 0 ? "palm_detection" : "hand_landmark",
                     lq_hand_variant_name((lq_hand_variant)v));
            cJSON *jn = cJSON_AddObjectToObject(jm, name);
            for (int threads = 1; threads <= 2 && rc == 0; threads++) {
                lq_bench_stats s = {0}, c = {0};
                rc = time_model(net, threads, kind == 0 ? palm_in : lm_in,
                                kind == 0 ? sizeof palm_in / sizeof(float)
                                          : sizeof lm_in / sizeof(float),
                                iters, &s, &c);
                if (rc < 0)
                    break;
                cJSON *jt = stats_json(&s);
                cJSON_AddItemToObject(jn, threads == 1 ? "threads_1" : "threads_2", jt);
                char target[64] = "", cpu[16] = "";
                if (threads == 1) {
                    /* Thread CPU time only means latency for one thread. */
                    cJSON_AddNumberToObject(jt, "thread_cpu_median_ms", c.median);
                    snprintf(cpu, sizeof cpu, "%.2f", c.median);
                }
                if (threads == 1 && v == LQ_HAND_FULL) {
                    const double tgt = kind == 0 ? TARGET_PALM_FULL_MS : TARGET_LANDMARK_FULL_MS;
                    snprintf(target, sizeof target, "<= %.0f ms: wall %s, cpu %s", tgt,
                             verdict(s.median, tgt), verdict(c.median, tgt));
                    if (kind == 0)
                        palm_full_1 = s.median, palm_full_cpu = c.median;
                    else
                        lm_full_1 = s.median, lm_full_cpu = c.median;
                }
                printf("%-22s %7d %10.2f %8.2f %10s   %s\n", name, threads, s.median, s.p90, cpu,
                       target);
            }
        }
    }
    const double rss_models = lq_bench_peak_rss_mb();

    pipe_result det[2], trk[2], trk2[2];
    for (int v = 0; v < 2 && rc == 0; v++) {
        rc = time_pipeline(ctx, m, (lq_hand_variant)v, 1, 2, 0, "palm_reach", frames, &det[v]);
        if (rc == 0)
            rc = time_pipeline(ctx, m, (lq_hand_variant)v, 0, 1, 1, "palm_reach", frames, &trk[v]);
        if (rc == 0)
            rc = time_pipeline(ctx, m, (lq_hand_variant)v, 0, 2, 0, "palm_reach", frames, &trk2[v]);
    }
    /* The service's setting: max 2 hands, the detector looks for a second
     * hand every 10th frame; in order, or beside the tracked hand's landmarks
     * on a second thread (lq_hand_worker_set_concurrent), same run. */
    pipe_result svc[2];
    for (int c = 0; c < 2 && rc == 0; c++)
        rc = time_pipeline_ex(ctx, m, LQ_HAND_FULL, 0, 2, 0, 10, c, "palm_reach", frames, &svc[c]);
    if (rc < 0) {
        fprintf(stderr, "bench hands: pipeline run failed: %s\n", lq_strerror(rc));
        lq_hand_models_destroy(m);
        cJSON_Delete(root);
        return rc;
    }
    printf("\n%-52s %10s %8s %8s\n", "per 640x480 frame (palm_reach, 1 thread)", "median ms",
           "p90 ms", "cpu ms");
    cJSON *jp = cJSON_AddObjectToObject(root, "pipeline_640x480");
    for (int v = 0; v < 2; v++) {
        const char *vn = lq_hand_variant_name((lq_hand_variant)v);
        char label[96], target[64] = "";
        snprintf(label, sizeof label, "%s: detect mode (palm + landmarks, every frame)", vn);
        printf("%-52s %10.2f %8.2f %8.2f\n", label, det[v].total.median, det[v].total.p90,
               det[v].cpu.median);
        snprintf(label, sizeof label, "%s: tracking mode (tracked frame, warp included)", vn);
        if (v == LQ_HAND_FULL)
            snprintf(target, sizeof target, "<= %.0f ms: wall %s, cpu %s", TARGET_TRACKED_FULL_MS,
                     verdict(trk[v].total.median, TARGET_TRACKED_FULL_MS),
                     verdict(trk[v].cpu.median, TARGET_TRACKED_FULL_MS));
        printf("%-52s %10.2f %8.2f %8.2f   %s\n", label, trk[v].total.median, trk[v].total.p90,
               trk[v].cpu.median, target);
        printf("%-52s %10.2f %8.2f\n", "    of which the landmark warp", trk[v].warp.median,
               trk[v].warp.p90);
        snprintf(label, sizeof label, "%s: tracking, max 2 hands (palm runs while < 2)", vn);
        printf("%-52s %10.2f %8.2f %8.2f\n", label, trk2[v].total.median, trk2[v].total.p90,
               trk2[v].cpu.median);
        cJSON *jv = cJSON_AddObjectToObject(jp, vn);
        cJSON_AddItemToObject(jv, "detect_mode", pipe_json(&det[v]));
        cJSON_AddItemToObject(jv, "tracking_mode_1_hand", pipe_json(&trk[v]));
        cJSON_AddItemToObject(jv, "tracking_mode_2_hands", pipe_json(&trk2[v]));
    }
    printf("\n%-52s %10s %8s %8s\n",
           "full, max 2 hands, second-hand search every 10th", "median ms", "p90 ms", "p99 ms");
    cJSON *jsh = cJSON_AddObjectToObject(root, "second_hand_search_every_10th_full");
    for (int c = 0; c < 2; c++) {
        const char *name = c ? "concurrent" : "sequential";
        char label[96];
        snprintf(label, sizeof label, "%s: every frame", name);
        printf("%-52s %10.2f %8.2f %8.2f\n", label, svc[c].total.median, svc[c].total.p90,
               svc[c].total.p99);
        snprintf(label, sizeof label, "%s: frames searched beside a tracked hand (%d)", name,
                 svc[c].searched.n);
        printf("%-52s %10.2f %8.2f %8.2f\n", label, svc[c].searched.median, svc[c].searched.p90,
               svc[c].searched.p99);
        cJSON *jx = cJSON_AddObjectToObject(jsh, name);
        cJSON_AddItemToObject(jx, "every_frame", stats_json(&svc[c].total));
        cJSON_AddItemToObject(jx, "searched_frames", stats_json(&svc[c].searched));
    }
    if (svc[0].searched.n > 0 && svc[1].searched.n > 0)
        printf("searched frames, concurrent / sequential median: %.2f (same run)\n",
               svc[1].searched.median / svc[0].searched.median);
    cJSON_AddItemToObject(root, "landmark_warp_224_from_640x480", stats_json(&warp_stats));
    const double rss = lq_bench_peak_rss_mb();
    printf("\nmodel load (palm + landmark, read + compile): full %.1f ms, lite %.1f ms\n",
           load_full, load_lite);
    printf("landmark ROI warp alone (224x224 from 640x480): median %.3f ms\n", warp_stats.median);
    printf(
        "peak RSS: %.1f MiB after loading all four models and timing them, %.1f MiB at the end\n",
        rss_models, rss);
    if (load[0] > 1.0)
        printf("note: load average was %.2f at the start: wall times include contention; the\n"
               "      thread CPU times (cpu ms) are what the work itself costs\n",
               load[0]);

    cJSON *jr = cJSON_AddObjectToObject(root, "peak_rss_mib");
    cJSON_AddNumberToObject(jr, "after_models", rss_models);
    cJSON_AddNumberToObject(jr, "end", rss);
    cJSON *jt = cJSON_AddObjectToObject(root, "targets");
    cJSON_AddBoolToObject(jt, "palm_detection_full_le_11ms", palm_full_1 <= TARGET_PALM_FULL_MS);
    cJSON_AddBoolToObject(jt, "hand_landmark_full_le_9ms", lm_full_1 <= TARGET_LANDMARK_FULL_MS);
    cJSON_AddBoolToObject(jt, "tracked_frame_full_le_10ms",
                          trk[LQ_HAND_FULL].total.median <= TARGET_TRACKED_FULL_MS);
    cJSON *jc = cJSON_AddObjectToObject(root, "targets_by_thread_cpu_time");
    cJSON_AddBoolToObject(jc, "palm_detection_full_le_11ms", palm_full_cpu <= TARGET_PALM_FULL_MS);
    cJSON_AddBoolToObject(jc, "hand_landmark_full_le_9ms", lm_full_cpu <= TARGET_LANDMARK_FULL_MS);
    cJSON_AddBoolToObject(jc, "tracked_frame_full_le_10ms",
                          trk[LQ_HAND_FULL].cpu.median <= TARGET_TRACKED_FULL_MS);
    char *text = cJSON_Print(root);
    rc = text && lq_bench_write(ctx, "hands.json", text) == 0 ? 0 : LQ_EIO;
    if (rc == 0)
        printf("wrote %s/hands.json\n", ctx->out_dir);
    free(text);
    cJSON_Delete(root);
    lq_hand_models_destroy(m);
    return rc;
}
