/*
 * test_tracker_video.c - the tracker on the shared videos (25 fps frames).
 *
 * 1. Tracking accuracy on video/asl_hand against TF.js's reference landmarks
 *    (MediaPipe Hands, tracking mode, max 1 hand; the upstream test accepts
 *    26 px per coordinate).
 * 2. Jitter and lag with and without One Euro smoothing on palm_reach,
 *    thumb_ok and asl_hand:
 *      jitter = RMS of the second difference p(t+1) - 2 p(t) + p(t-1) of every
 *               landmark over frames where the same track is present (pixels,
 *               and % of the hand size); it is what a viewer sees as shake;
 *      lag    = the delay tau (ms) that best explains smoothed(t) ~ raw(t - tau)
 *               to first order: tau = -sum((s - r) . v) / sum(|v|^2), v the
 *               raw velocity (central difference), in frames x 40 ms.
 *    The smoothing must cut the jitter substantially while lagging little.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hand/one_euro.h"
#include "hand/tracker.h"
#include "image/codec.h"
#include "hand_tracker.h"
#include "lq_test.h"

#define MAX_FRAMES 400
#define FRAME_US 40000

static lq_hand_models *models;

typedef struct video_run {
    int nframes;
    lq_hands f[MAX_FRAMES];
    int palm_runs;
    double total_ms;
} video_run;

static int setup(void **state)
{
    (void)state;
    return lq_test_load_hand_models(LQ_HAND_LOAD_FULL, &models);
}

static int teardown(void **state)
{
    (void)state;
    lq_hand_models_destroy(models);
    return 0;
}

static void run_video(const char *name, const lq_tracker_opts *o, video_run *r)
{
    lq_tracker *t = NULL;
    assert_int_equal(lq_tracker_create(models, o, &t), 0);
    memset(r, 0, sizeof *r);
    for (int i = 0; i < MAX_FRAMES; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "video/%s/%04d.webp", name, i + 1);
        const char *path = lq_test_data(rel);
        if (!lq_test_exists(path))
            break;
        lq_image img = {0};
        char err[256];
        assert_int_equal(lq_image_load(path, NULL, &img, err, sizeof err), 0);
        assert_int_equal(lq_tracker_process(t, &img, (int64_t)i * FRAME_US, &r->f[i]), 0);
        r->palm_runs += r->f[i].t.palm_runs;
        r->total_ms += r->f[i].t.total_ms;
        r->nframes++;
        lq_image_free(&img);
    }
    lq_tracker_destroy(t);
    assert_true(r->nframes > 100);
}

static const lq_hand *find_track(const lq_hands *h, int id)
{
    for (int i = 0; i < h->count; i++)
        if (h->hand[i].track_id == id)
            return &h->hand[i];
    return NULL;
}

/* Applies the smoother offline to a raw run, per track, as the tracker does. */
static void smooth_run(const video_run *raw, const lq_one_euro_params *p, video_run *out)
{
    static lq_hand_smoother sm[LQ_HAND_MAX];
    int ids[LQ_HAND_MAX] = {0};
    *out = *raw;
    for (int f = 0; f < raw->nframes; f++) {
        int new_ids[LQ_HAND_MAX] = {0};
        lq_hand_smoother next[LQ_HAND_MAX];
        for (int i = 0; i < raw->f[f].count; i++) {
            lq_hand *h = &out->f[f].hand[i];
            int slot = -1;
            for (int k = 0; k < LQ_HAND_MAX; k++)
                if (ids[k] == h->track_id)
                    slot = k;
            if (slot >= 0)
                next[i] = sm[slot];
            else
                lq_hand_smoother_reset(&next[i]);
            lq_hand_smoother_apply(&next[i], p, (int64_t)f * FRAME_US, h);
            new_ids[i] = h->track_id;
        }
        for (int k = 0; k < LQ_HAND_MAX; k++) {
            ids[k] = new_ids[k];
            if (k < raw->f[f].count)
                sm[k] = next[k];
        }
    }
}

typedef struct motion_stats {
    double jitter_px, jitter_pct, lag_ms, mean_dev_px;
    long samples;
} motion_stats;

static motion_stats measure(const video_run *raw, const video_run *sm)
{
    double j2 = 0, j2n = 0, num = 0, den = 0, dev = 0;
    long n = 0;
    for (int f = 1; f + 1 < raw->nframes; f++) {
        for (int i = 0; i < raw->f[f].count; i++) {
            const int id = raw->f[f].hand[i].track_id;
            const lq_hand *r0 = find_track(&raw->f[f - 1], id),
                          *r2 = find_track(&raw->f[f + 1], id);
            const lq_hand *s0 = find_track(&sm->f[f - 1], id), *s2 = find_track(&sm->f[f + 1], id);
            const lq_hand *r1 = &raw->f[f].hand[i], *s1 = find_track(&sm->f[f], id);
            if (!r0 || !r2 || !s0 || !s1 || !s2)
                continue;
            const double size = lq_points_scale(r1->lm, LQ_HAND_LANDMARKS);
            for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                const double ax = s2->lm[k].x - 2 * s1->lm[k].x + s0->lm[k].x;
                const double ay = s2->lm[k].y - 2 * s1->lm[k].y + s0->lm[k].y;
                j2 += ax * ax + ay * ay;
                j2n += (ax * ax + ay * ay) / (size * size);
                const double vx = (r2->lm[k].x - r0->lm[k].x) / 2,
                             vy = (r2->lm[k].y - r0->lm[k].y) / 2;
                const double dx = s1->lm[k].x - r1->lm[k].x, dy = s1->lm[k].y - r1->lm[k].y;
                num += dx * vx + dy * vy;
                den += vx * vx + vy * vy;
                dev += hypot(dx, dy);
                n++;
            }
        }
    }
    motion_stats m = {0};
    if (n == 0)
        return m;
    m.samples = n;
    m.jitter_px = sqrt(j2 / (double)n);
    m.jitter_pct = 100.0 * sqrt(j2n / (double)n);
    m.lag_ms = den > 0 ? -num / den * FRAME_US / 1000.0 : 0;
    m.mean_dev_px = dev / (double)n;
    return m;
}

static video_run raw_run, smooth_tracker_run, smooth_offline_run;

static void asl_hand_tracking_matches_tfjs(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *buf = lq_test_read_file(lq_test_data("landmarks/tfjs_asl_hand.full.json"), &len);
    assert_non_null(buf);
    cJSON *ref = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    assert_non_null(ref);

    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.max_hands = 1; /* as the upstream test */
    for (int smooth = 0; smooth <= 1; smooth++) {
        o.smoothing = smooth;
        run_video("asl_hand", &o, &raw_run);
        assert_int_equal(raw_run.nframes, cJSON_GetArraySize(ref));
        int found = 0, within = 0;
        double worst = 0, sum_max = 0;
        int worst_frame = -1;
        for (int f = 0; f < raw_run.nframes; f++) {
            if (raw_run.f[f].count == 0)
                continue;
            found++;
            const lq_hand *h = &raw_run.f[f].hand[0];
            const cJSON *pts = cJSON_GetArrayItem(ref, f);
            double mx = 0;
            for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                const cJSON *p = cJSON_GetArrayItem(pts, k);
                mx = fmax(mx, fabs(h->lm[k].x - cJSON_GetArrayItem(p, 0)->valuedouble));
                mx = fmax(mx, fabs(h->lm[k].y - cJSON_GetArrayItem(p, 1)->valuedouble));
            }
            within += mx <= 26.0;
            sum_max += mx;
            if (mx > worst)
                worst = mx, worst_frame = f;
        }
        print_message("asl_hand (%s): hand found in %d/%d frames, palm detector ran on %d, "
                      "all landmarks within 26 px on %d/%d frames, mean of per-frame max error "
                      "%.2f px, worst %.1f px (frame %d), %.2f ms/frame\n",
                      smooth ? "One Euro on" : "raw", found, raw_run.nframes, raw_run.palm_runs,
                      within, found, sum_max / found, worst, worst_frame + 1,
                      raw_run.total_ms / raw_run.nframes);
        if (!smooth) {
            /* The reference is unsmoothed: hold the raw track to the upstream
             * tolerance (one frame in 325 may exceed it: see the report). */
            assert_int_equal(found, raw_run.nframes);
            assert_true(within * 100 >= found * 99);
            assert_true(sum_max / found < 8.0);
            assert_true(raw_run.palm_runs <= 3); /* tracking, not re-detecting */
        }
    }
    cJSON_Delete(ref);
}

static void jitter_and_lag_on(const char *name, int max_hands)
{
    const lq_one_euro_params p = LQ_ONE_EURO_HAND_DEFAULT;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.max_hands = max_hands;
    o.smoothing = 0;
    run_video(name, &o, &raw_run);
    o.smoothing = 1;
    run_video(name, &o, &smooth_tracker_run);

    /* The tracker's smoothing is exactly the smoother on the raw track
     * (smoothing never feeds back into the ROIs). */
    smooth_run(&raw_run, &p, &smooth_offline_run);
    double maxdiff = 0;
    for (int f = 0; f < raw_run.nframes; f++) {
        assert_int_equal(smooth_tracker_run.f[f].count, raw_run.f[f].count);
        for (int i = 0; i < raw_run.f[f].count; i++)
            for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                maxdiff = fmax(maxdiff, fabs(smooth_tracker_run.f[f].hand[i].lm[k].x -
                                             smooth_offline_run.f[f].hand[i].lm[k].x));
                maxdiff = fmax(maxdiff, fabs(smooth_tracker_run.f[f].hand[i].lm[k].y -
                                             smooth_offline_run.f[f].hand[i].lm[k].y));
            }
    }
    assert_true(maxdiff < 1e-3);

    const motion_stats off = measure(&raw_run, &raw_run);
    const motion_stats on = measure(&raw_run, &smooth_tracker_run);
    print_message("%-10s %d frames: jitter %.2f px (%.2f%% of hand size) raw -> %.2f px "
                  "(%.2f%%) with One Euro (%.0f%% less); lag %.1f ms, mean offset from the raw "
                  "track %.2f px\n",
                  name, raw_run.nframes, off.jitter_px, off.jitter_pct, on.jitter_px, on.jitter_pct,
                  100.0 * (1.0 - on.jitter_px / off.jitter_px), on.lag_ms, on.mean_dev_px);
    /* Other settings, for context (same raw track). */
    static const lq_one_euro_params alt[] = {
        {0.5f, 2.0f, 1.0f}, {2.0f, 10.0f, 1.0f}, {0.05f, 80.0f, 1.0f}};
    for (size_t a = 0; a < sizeof alt / sizeof alt[0]; a++) {
        smooth_run(&raw_run, &alt[a], &smooth_offline_run);
        const motion_stats m = measure(&raw_run, &smooth_offline_run);
        print_message("           min_cutoff %.2f beta %.0f: jitter %.2f px (%.2f%%), lag %.1f "
                      "ms, offset %.2f px\n",
                      alt[a].min_cutoff, alt[a].beta, m.jitter_px, m.jitter_pct, m.lag_ms,
                      m.mean_dev_px);
    }
    assert_true(on.samples > 1000);
    assert_true(on.jitter_px < 0.7 * off.jitter_px);
    assert_true(on.lag_ms < 40.0); /* under one frame at 25 fps */
}

static void jitter_and_lag_palm_reach(void **state)
{
    (void)state;
    jitter_and_lag_on("palm_reach", 2);
}

static void jitter_and_lag_thumb_ok(void **state)
{
    (void)state;
    jitter_and_lag_on("thumb_ok", 2);
}

static void jitter_and_lag_asl_hand(void **state)
{
    (void)state;
    jitter_and_lag_on("asl_hand", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asl_hand_tracking_matches_tfjs),
        cmocka_unit_test(jitter_and_lag_palm_reach),
        cmocka_unit_test(jitter_and_lag_thumb_ok),
        cmocka_unit_test(jitter_and_lag_asl_hand),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
