/* Nail smoothing: jitter on a still nail, lag on a moving one, visibility
 * hysteresis, holds, track loss; and the jitter of the whole pipeline on the
 * shared videos. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hand/tracker.h"
#include "lq_test.h"
#include "nail_jitter.h"
#include "nails/nail_track.h"
#include "ref_landmarks.h"
#include "synthetic_hand.h"

#define FRAME_US 40000 /* 25 fps */

static nail_geom nail_at(int track_id, int finger, float cx, float cy, float facing)
{
    nail_geom g = lq_test_upright_nail(track_id, finger, cx, cy, 16.0f, 20.0f);
    g.confidence = 0.9f;
    g.cuticle_round = g.tip_round = 0.9f;
    g.facing = facing;
    return g;
}

static lq_hands hands_with(int n, const int *ids)
{
    lq_hands h;
    memset(&h, 0, sizeof h);
    h.count = n;
    for (int i = 0; i < n; i++) {
        h.hand[i].track_id = ids[i];
        h.hand[i].presence = 1.0f;
    }
    return h;
}

static float gauss(uint32_t *s)
{
    float a = 0.0f;
    for (int k = 0; k < 12; k++) {
        *s = *s * 1664525u + 1013904223u;
        a += (float)(*s >> 8) / 16777216.0f;
    }
    return a - 6.0f;
}

static nail_track *new_track(void)
{
    nail_track_opts o = NAIL_TRACK_OPTS_DEFAULT;
    nail_track *t = NULL;
    assert_int_equal(nail_track_create(&o, &t), 0);
    return t;
}

static void still_noisy_nail_is_steadied(void **state)
{
    (void)state;
    nail_track *t = new_track();
    int id = 3;
    lq_hands hs = hands_with(1, &id);
    uint32_t seed = 99;
    double raw2 = 0, sm2 = 0;
    float px = 0, py = 0, rx = 0, ry = 0;
    int n = 0;
    for (int f = 0; f < 150; f++) {
        nail_geom in = nail_at(id, 2, 200.0f + 1.2f * gauss(&seed), 150.0f + 1.2f * gauss(&seed), 0.9f);
        nail_geom out[NAIL_MAX];
        int nout = 0;
        assert_int_equal(nail_track_update(t, (int64_t)f * FRAME_US, &hs, &in, 1, out, NAIL_MAX, &nout), 0);
        assert_int_equal(nout, 1);
        assert_int_equal(out[0].finger, 2);
        assert_int_equal(out[0].track_id, id);
        if (f >= 25) { /* after the filter settles */
            raw2 += (in.cx - rx) * (in.cx - rx) + (in.cy - ry) * (in.cy - ry);
            sm2 += (out[0].cx - px) * (out[0].cx - px) + (out[0].cy - py) * (out[0].cy - py);
            n++;
        }
        px = out[0].cx;
        py = out[0].cy;
        rx = in.cx;
        ry = in.cy;
    }
    double raw = sqrt(raw2 / n), sm = sqrt(sm2 / n);
    print_message("still nail, 1.2 px noise per axis: frame-to-frame RMS raw %.2f px, smoothed %.2f px\n",
                  raw, sm);
    assert_true(raw > 2.0);
    assert_true(sm < 0.5);
    nail_track_destroy(t);
}

static void moving_nail_follows_with_little_lag(void **state)
{
    (void)state;
    nail_track *t = new_track();
    int id = 1;
    lq_hands hs = hands_with(1, &id);
    float lag = 0.0f;
    for (int f = 0; f < 60; f++) {
        float x = 100.0f + 6.0f * (float)f; /* 6 px per frame, 150 px/s */
        nail_geom in = nail_at(id, 1, x, 200.0f, 0.9f), out[NAIL_MAX];
        int nout = 0;
        assert_int_equal(nail_track_update(t, (int64_t)f * FRAME_US, &hs, &in, 1, out, NAIL_MAX, &nout), 0);
        assert_int_equal(nout, 1);
        lag = x - out[0].cx;
        assert_true(lag >= -0.01f);
    }
    print_message("steady 6 px/frame motion: the smoothed centre trails by %.2f px\n", lag);
    assert_true(lag < 3.0f);
    nail_track_destroy(t);
}

static void slow_steady_motion_trails_boundedly(void **state)
{
    (void)state;
    /* the price of holding the cutoff down on a still hand: a hand moving
     * steadily just below still_speed is followed with the lowest cutoff */
    nail_track_opts o = NAIL_TRACK_OPTS_DEFAULT;
    float worst = 0.0f;
    for (float v = 0.1f; v <= 2.0f; v += 0.1f) { /* px per frame, 20 px nail */
        nail_track *t = new_track();
        int id = 1;
        lq_hands hs = hands_with(1, &id);
        float lag = 0.0f;
        for (int f = 0; f < 120; f++) {
            nail_geom in = nail_at(id, 1, 100.0f + v * (float)f, 200.0f, 0.9f), out[NAIL_MAX];
            int nout = 0;
            assert_int_equal(nail_track_update(t, (int64_t)f * FRAME_US, &hs, &in, 1, out,
                                               NAIL_MAX, &nout), 0);
            lag = in.cx - out[0].cx;
        }
        worst = lag > worst ? lag : worst;
        nail_track_destroy(t);
    }
    /* at most v / (2 pi min_cutoff) per second of motion: 3 px at 0.6 px per
     * frame (0.75 nail lengths/s); faster motion opens the filter */
    print_message("steady motion up to 2 px/frame: the painted centre trails by at most %.2f px "
                  "(%.2f nail lengths)\n", worst, worst / 20.0f);
    assert_true(worst < 0.17f * 20.0f);
    assert_true(o.still_speed <= 1.0f);
}

static int shown(nail_track *t, int f, const lq_hands *hs, const nail_geom *in, int n)
{
    nail_geom out[NAIL_MAX];
    int nout = -1;
    assert_int_equal(nail_track_update(t, (int64_t)f * FRAME_US, hs, in, n, out, NAIL_MAX, &nout), 0);
    return nout;
}

static void visibility_has_hysteresis(void **state)
{
    (void)state;
    nail_track *t = new_track();
    nail_track_opts o = NAIL_TRACK_OPTS_DEFAULT;
    int id = 5;
    lq_hands hs = hands_with(1, &id);
    int f = 0;
    /* below show_facing: not shown yet */
    nail_geom g = nail_at(id, 3, 100, 100, o.show_facing - 0.02f);
    assert_int_equal(shown(t, f++, &hs, &g, 1), 0);
    /* reaches it: shown; then wavers between the two thresholds: stays */
    g.facing = o.show_facing + 0.01f;
    assert_int_equal(shown(t, f++, &hs, &g, 1), 1);
    int changes = 0, last = 1;
    for (int k = 0; k < 20; k++) {
        g.facing = k % 2 ? o.show_facing + 0.02f : o.hide_facing + 0.01f;
        int s = shown(t, f++, &hs, &g, 1);
        changes += s != last;
        last = s;
    }
    assert_int_equal(changes, 0);
    /* drops below hide_facing: hidden */
    g.facing = o.hide_facing - 0.01f;
    assert_int_equal(shown(t, f++, &hs, &g, 1), 0);
    g.facing = (o.hide_facing + o.show_facing) * 0.5f;
    assert_int_equal(shown(t, f++, &hs, &g, 1), 0);
    nail_track_destroy(t);
}

static void missing_nail_is_held_briefly_then_hidden(void **state)
{
    (void)state;
    nail_track *t = new_track();
    nail_track_opts o = NAIL_TRACK_OPTS_DEFAULT;
    int id = 8;
    lq_hands hs = hands_with(1, &id);
    nail_geom g = nail_at(id, 1, 50, 60, 0.9f);
    int f = 0;
    for (int k = 0; k < 5; k++)
        assert_int_equal(shown(t, f++, &hs, &g, 1), 1);
    /* the hand is still tracked but the nail is missing */
    for (int k = 0; k < o.hold_frames; k++)
        assert_int_equal(shown(t, f++, &hs, NULL, 0), 1);
    assert_int_equal(shown(t, f++, &hs, NULL, 0), 0);
    /* it comes back within keep_frames: its filter state continues (no jump) */
    g.cx = 52.0f;
    nail_geom out[NAIL_MAX];
    int nout = 0;
    assert_int_equal(nail_track_update(t, (int64_t)(f++) * FRAME_US, &hs, &g, 1, out, NAIL_MAX, &nout), 0);
    assert_int_equal(nout, 1);
    assert_true(out[0].cx > 50.0f && out[0].cx < 52.0f);
    nail_track_destroy(t);
}

static void track_loss_drops_the_hands_nails(void **state)
{
    (void)state;
    nail_track *t = new_track();
    int id1 = 1, id2 = 2;
    lq_hands h1 = hands_with(1, &id1), h2 = hands_with(1, &id2), none = hands_with(0, NULL);
    nail_geom g = nail_at(id1, 0, 100, 100, 0.9f);
    int f = 0;
    for (int k = 0; k < 5; k++)
        assert_int_equal(shown(t, f++, &h1, &g, 1), 1);
    /* the hand is lost: nothing is held */
    assert_int_equal(shown(t, f++, &none, NULL, 0), 0);
    /* a new hand elsewhere with the same finger starts fresh, unsmoothed */
    nail_geom g2 = nail_at(id2, 0, 300, 250, 0.9f), out[NAIL_MAX];
    int nout = 0;
    assert_int_equal(nail_track_update(t, (int64_t)(f++) * FRAME_US, &h2, &g2, 1, out, NAIL_MAX, &nout), 0);
    assert_int_equal(nout, 1);
    assert_true(out[0].cx == 300.0f && out[0].cy == 250.0f);
    /* the old id coming back does not inherit anything either */
    g.cx = 120.0f;
    assert_int_equal(nail_track_update(t, (int64_t)(f++) * FRAME_US, &h1, &g, 1, out, NAIL_MAX, &nout), 0);
    assert_int_equal(nout, 1);
    assert_true(out[0].cx == 120.0f);
    /* a timestamp going backwards resets everything */
    g.cx = 10.0f;
    assert_int_equal(nail_track_update(t, 0, &h1, &g, 1, out, NAIL_MAX, &nout), 0);
    assert_true(nout == 1 && out[0].cx == 10.0f);
    nail_track_destroy(t);
}

static void odd_input_is_ignored_and_bad_arguments_refused(void **state)
{
    (void)state;
    nail_track *t = new_track();
    int id = 4;
    lq_hands hs = hands_with(1, &id);
    nail_geom bad[4] = {nail_at(id, 7, 1, 1, 0.9f), nail_at(id, 1, NAN, 1, 0.9f),
                        nail_at(id, 2, 1, 1, 0.9f), nail_at(id, 2, 5, 5, 0.9f)};
    bad[2].length = INFINITY;
    nail_geom out[NAIL_MAX];
    int nout = -1;
    assert_int_equal(nail_track_update(t, 0, &hs, bad, 4, out, NAIL_MAX, &nout), 0);
    assert_int_equal(nout, 1); /* only the last one is usable */
    /* capacity */
    nail_geom two[2] = {nail_at(id, 1, 1, 1, 0.9f), nail_at(id, 2, 9, 9, 0.9f)};
    assert_int_equal(nail_track_update(t, FRAME_US, &hs, two, 2, out, 1, &nout), 0);
    assert_int_equal(nout, 1);
    /* more hands than slots: the oldest is forgotten, nothing breaks */
    for (int k = 0; k < 3 * NAIL_TRACK_MAX_HANDS; k++) {
        nail_geom g = nail_at(100 + k, 1, (float)k, 0, 0.9f);
        assert_int_equal(nail_track_update(t, (int64_t)(2 + k) * FRAME_US, NULL, &g, 1, out,
                                           NAIL_MAX, &nout), 0);
        assert_true(nout >= 1 && nout <= 5 * NAIL_TRACK_MAX_HANDS);
    }
    assert_int_equal(nail_track_update(NULL, 0, &hs, two, 2, out, NAIL_MAX, &nout), LQ_EINVAL);
    assert_int_equal(nail_track_update(t, 0, &hs, NULL, 2, out, NAIL_MAX, &nout), LQ_EINVAL);
    assert_int_equal(nail_track_update(t, 0, &hs, two, -1, out, NAIL_MAX, &nout), LQ_EINVAL);
    assert_int_equal(nail_track_update(t, 0, &hs, two, 2, NULL, 3, &nout), LQ_EINVAL);
    nail_track_destroy(t);

    nail_track_opts o = NAIL_TRACK_OPTS_DEFAULT;
    nail_track *u = NULL;
    o.hide_facing = o.show_facing + 0.1f;
    assert_int_equal(nail_track_create(&o, &u), LQ_EINVAL);
    o = (nail_track_opts)NAIL_TRACK_OPTS_DEFAULT;
    o.centre.min_cutoff = 0.0f;
    assert_int_equal(nail_track_opts_validate(&o), LQ_EINVAL);
    o = (nail_track_opts)NAIL_TRACK_OPTS_DEFAULT;
    o.keep_frames = o.hold_frames - 1;
    assert_int_equal(nail_track_opts_validate(&o), LQ_EINVAL);
    o = (nail_track_opts)NAIL_TRACK_OPTS_DEFAULT;
    o.offset.d_cutoff = 0.0f;
    assert_int_equal(nail_track_opts_validate(&o), LQ_EINVAL);
    o = (nail_track_opts)NAIL_TRACK_OPTS_DEFAULT;
    o.still_speed = -0.1f;
    assert_int_equal(nail_track_opts_validate(&o), LQ_EINVAL);
    o.still_speed = NAN;
    assert_int_equal(nail_track_opts_validate(&o), LQ_EINVAL);
    assert_null(u);
    nail_track_reset(NULL);
    nail_track_destroy(NULL);
}

/* ---- measured outlines = landmark prediction + refinement offset ---------- */

/* A flat hand seen from the back, fingers up, as in test_geometry.c. */
static lq_hand dorsal_hand(float dx, float dy)
{
    lq_hand h = lq_test_dorsal_hand(dx, dy);
    h.track_id = 6;
    return h;
}

/* One frame: the hand at (dx, dy) with landmark noise lm_sd, its nails as
 * refinement would give them (the prediction shifted 1.5 px toward the tip,
 * plus ref_sd of noise along the axis and on the sizes); returns the
 * painted middle nail's centre. */
static int track_frame(nail_track *t, int f, float dx, float dy, float lm_sd, float ref_sd,
                       uint32_t *seed, float *cx, float *cy, float *true_cx, float *true_cy)
{
    lq_hands hs;
    memset(&hs, 0, sizeof hs);
    hs.count = 1;
    hs.hand[0] = dorsal_hand(dx, dy);
    for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
        hs.hand[0].lm[k].x += lm_sd * gauss(seed);
        hs.hand[0].lm[k].y += lm_sd * gauss(seed);
    }
    nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
    lo.refine = 0;
    nail_geom in[NAIL_MAX], out[NAIL_MAX];
    int n = 0, nout = 0;
    assert_int_equal(nail_locate(NULL, &hs, &lo, in, NAIL_MAX, &n), 0);
    for (int i = 0; i < n; i++) {
        float e = 1.5f + ref_sd * gauss(seed);
        in[i].cx += e * in[i].ax;
        in[i].cy += e * in[i].ay;
        in[i].width *= 1.0f + 0.05f * ref_sd * gauss(seed);
        in[i].length *= 1.0f + 0.05f * ref_sd * gauss(seed);
        in[i].fit = 0.7f;
    }
    assert_int_equal(nail_track_update(t, (int64_t)f * FRAME_US, &hs, in, n, out, NAIL_MAX, &nout), 0);
    /* the noiseless middle nail, for reference */
    lq_hands clean = hs;
    clean.hand[0] = dorsal_hand(dx, dy);
    nail_geom ref[NAIL_MAX];
    int nref = 0;
    assert_int_equal(nail_locate(NULL, &clean, &lo, ref, NAIL_MAX, &nref), 0);
    for (int i = 0; i < nref; i++)
        if (ref[i].finger == 2) {
            *true_cx = ref[i].cx + 1.5f * ref[i].ax;
            *true_cy = ref[i].cy + 1.5f * ref[i].ay;
        }
    for (int i = 0; i < nout; i++)
        if (out[i].finger == 2) {
            *cx = out[i].cx;
            *cy = out[i].cy;
            return 1;
        }
    return 0;
}

static void refinement_noise_is_smoothed_without_trailing_a_moving_hand(void **state)
{
    (void)state;
    nail_track *t = new_track();
    uint32_t seed = 12345;
    /* a still hand: landmarks tremble by 0.3 px, refinement by 1.2 px */
    double sum = 0.0;
    int n = 0, f = 0;
    float px = 0, py = 0, cx = 0, cy = 0, tx = 0, ty = 0;
    for (; f < 100; f++) {
        assert_true(track_frame(t, f, 0.0f, 0.0f, 0.3f, 1.2f, &seed, &cx, &cy, &tx, &ty));
        if (f >= 25) {
            sum += (cx - px) * (cx - px) + (cy - py) * (cy - py);
            n++;
        }
        px = cx;
        py = cy;
    }
    double still = sqrt(sum / n);
    /* then it moves sideways at 8 px per frame (200 px/s, ~9 nail lengths/s) */
    float worst = 0.0f;
    for (int k = 1; k <= 25; k++, f++) {
        assert_true(track_frame(t, f, 8.0f * (float)k, 0.0f, 0.3f, 1.2f, &seed, &cx, &cy, &tx, &ty));
        if (k >= 5) {
            float lag = hypotf(cx - tx, cy - ty);
            worst = lag > worst ? lag : worst;
        }
    }
    print_message("refinement noise 1.2 px on a still hand: painted centre RMS %.2f px; "
                  "moving at 8 px/frame: at most %.2f px from the true nail\n", still, worst);
    assert_true(still < 0.25); /* the single One Euro per coordinate: 0.32 */
    assert_true(worst < 3.0f);
    nail_track_destroy(t);
}

static void slow_drift_is_smooth(void **state)
{
    (void)state;
    /* a hand drifting at 0.4 px per frame (0.5 nail lengths/s) with 0.5 px of
     * noise per axis: what remains should be the drift, not the noise */
    nail_track *t = new_track();
    int id = 2;
    lq_hands hs = hands_with(1, &id);
    uint32_t seed = 7;
    double sum = 0.0;
    int n = 0;
    float px = 0, py = 0;
    for (int f = 0; f < 150; f++) {
        nail_geom in = nail_at(id, 1, 100.0f + 0.4f * (float)f + 0.5f * gauss(&seed),
                               200.0f + 0.5f * gauss(&seed), 0.9f),
                  out[NAIL_MAX];
        int nout = 0;
        assert_int_equal(nail_track_update(t, (int64_t)f * FRAME_US, &hs, &in, 1, out, NAIL_MAX, &nout), 0);
        assert_int_equal(nout, 1);
        if (f >= 40) {
            /* frame-to-frame movement beyond the drift's own 0.4 px */
            float mx = out[0].cx - px - 0.4f, my = out[0].cy - py;
            sum += mx * mx + my * my;
            n++;
            /* and it keeps up with the drift */
            assert_true(fabsf(out[0].cx - (100.0f + 0.4f * (float)f)) < 3.0f);
        }
        px = out[0].cx;
        py = out[0].cy;
    }
    double rms = sqrt(sum / n);
    print_message("0.4 px/frame drift + 0.5 px noise: painted frame-to-frame movement beyond "
                  "the drift, RMS %.2f px\n", rms);
    assert_true(rms < 0.18); /* the single One Euro per coordinate: 0.25 */
    nail_track_destroy(t);
}

/* ---- the whole pipeline on the shared videos ----------------------------- */

static int tracker_hands(void *ud, int index, const char *path, const lq_image *img, lq_hands *out)
{
    (void)path;
    return lq_tracker_process(ud, img, (int64_t)index * FRAME_US, out);
}

static void report(const char *what, const lq_jitter_result *r)
{
    print_message("%s: %d frames (%d with a hand), %.2f nails/frame\n"
                  "  stillest 1 s from frame %d (landmarks move %.2f px/frame): nail centre "
                  "frame-to-frame RMS raw %.2f px, smoothed %.2f px (%d samples); with the "
                  "hand's smooth motion removed raw %.2f px, smoothed %.2f px\n"
                  "  moving (%d frames > 3 px/frame): smoothed trails raw by %.2f px, ~%.0f ms\n"
                  "  pops (appear/disappear per nail-second): raw %.2f, smoothed %.2f\n",
                  what, r->frames, r->frames_with_hand, r->nails_per_frame, r->still_start,
                  r->still_motion_px, r->jitter_raw_px, r->jitter_px, r->still_samples,
                  r->jitter_detrended_raw_px, r->jitter_detrended_px, r->moving_frames, r->lag_px,
                  r->lag_ms, r->pops_raw, r->pops);
}

static void pipeline_jitter_on_the_shared_videos(void **state)
{
    (void)state;
    if (!lq_test_exists(lq_test_model("hand_landmark_full.tflite")) ||
        !lq_test_exists(lq_test_data("video/asl_hand"))) {
        print_message("no models or videos, skipped\n");
        skip();
    }
    char err[256];
    lq_hand_models *m = NULL;
    assert_int_equal(lq_hand_models_load(LQ_MODELS_DIR, LQ_HAND_LOAD_FULL, &m, err, sizeof err), 0);
    /* asl_hand shows the most nails (curled fingers seen from the palm
     * side); palm_reach mostly a palm, whose nails must stay hidden */
    const char *videos[2] = {"video/asl_hand", "video/palm_reach"};
    for (int v = 0; v < 2; v++) {
        lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
        lq_tracker *tr = NULL;
        assert_int_equal(lq_tracker_create(m, &to, &tr), 0);
        lq_jitter_opts jo = LQ_JITTER_OPTS_DEFAULT;
        jo.frames_dir = lq_test_data(videos[v]);
        jo.locate.min_facing = jo.track.hide_facing;
        lq_jitter_result r;
        assert_int_equal(lq_jitter_run(&jo, tracker_hands, tr, &r), 0);
        report(videos[v], &r);
        assert_true(r.frames_with_hand > r.frames * 3 / 4);
        assert_true(r.still_start >= 0 && r.still_samples > 10);
        /* the literal figure includes the hand's own motion on that stretch */
        assert_true(r.jitter_px <= r.jitter_raw_px);
        assert_true(r.jitter_detrended_px < 0.5);
        assert_true(r.jitter_detrended_px < r.jitter_detrended_raw_px);
        assert_true(r.pops <= r.pops_raw);
        assert_true(r.lag_ms <= 80.0);
        lq_tracker_destroy(tr);
    }
    lq_hand_models_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(still_noisy_nail_is_steadied),
        cmocka_unit_test(moving_nail_follows_with_little_lag),
        cmocka_unit_test(refinement_noise_is_smoothed_without_trailing_a_moving_hand),
        cmocka_unit_test(slow_drift_is_smooth),
        cmocka_unit_test(slow_steady_motion_trails_boundedly),
        cmocka_unit_test(visibility_has_hysteresis),
        cmocka_unit_test(missing_nail_is_held_briefly_then_hidden),
        cmocka_unit_test(track_loss_drops_the_hands_nails),
        cmocka_unit_test(odd_input_is_ignored_and_bad_arguments_refused),
        cmocka_unit_test(pipeline_jitter_on_the_shared_videos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
