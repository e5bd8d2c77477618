/*
 * test_tracker.c - the tracker against MediaPipe's own pipeline.
 *
 * Static accuracy: every image listed in ../shared/data/landmarks/
 * mediapipe_<set>_<model>.json (produced by MediaPipe Hands with the same
 * models, each image on its own) goes through a static-mode tracker; we need
 * the same number of hands on >= 95% of the images and a median landmark
 * error of the matched hands <= 1% of the image's long side. Also the
 * upstream MediaPipe/TF.js test on tfjs_hands_two_dorsal.jpg (every landmark
 * within 20 px), and the tracker API (options, shared workers, errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hand/tracker.h"
#include "image/codec.h"
#include "hand_tracker.h"
#include "lq_test.h"

static lq_hand_models *models;

static int setup(void **state)
{
    (void)state;
    return lq_test_load_hand_models(LQ_HAND_LOAD_ALL, &models);
}

static int teardown(void **state)
{
    (void)state;
    lq_hand_models_destroy(models);
    return 0;
}

static cJSON *load_json(const char *rel)
{
    size_t len = 0;
    uint8_t *buf = lq_test_read_file(lq_test_data(rel), &len);
    assert_non_null(buf);
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    assert_non_null(j);
    return j;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Landmark errors (pixels) between our hand and a reference hand's 21
 * normalized landmarks; returns their mean. */
static double hand_errors(const lq_hand *h, const cJSON *ref_lms, int w, int hgt, double *err)
{
    double sum = 0;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        const cJSON *p = cJSON_GetArrayItem(ref_lms, i);
        const double rx = cJSON_GetArrayItem(p, 0)->valuedouble * w;
        const double ry = cJSON_GetArrayItem(p, 1)->valuedouble * hgt;
        err[i] = hypot(h->lm[i].x - rx, h->lm[i].y - ry);
        sum += err[i];
    }
    return sum / LQ_HAND_LANDMARKS;
}

typedef struct set_result {
    int images, same_count, ref_hands, matched, handedness_agree;
    double median_err, p90_err, worst_hand_mean; /* fractions of the long side */
} set_result;

static set_result run_set(const char *set, lq_hand_variant v)
{
    char rel[256];
    snprintf(rel, sizeof rel, "landmarks/mediapipe_%s_%s.json", set, lq_hand_variant_name(v));
    cJSON *doc = load_json(rel);
    const cJSON *images = cJSON_GetObjectItem(doc, "images");
    const int n = cJSON_GetArraySize(images);
    assert_true(n > 0);

    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.variant = v;
    o.static_mode = 1;
    o.smoothing = 0;
    lq_tracker *t = NULL;
    assert_int_equal(lq_tracker_create(models, &o, &t), 0);

    double *errs = malloc(sizeof(double) * (size_t)n * LQ_HAND_MAX * LQ_HAND_LANDMARKS);
    assert_non_null(errs);
    int nerr = 0;
    set_result r = {0};
    r.images = n;
    for (int k = 0; k < n; k++) {
        const cJSON *im = cJSON_GetArrayItem(images, k);
        const char *path = cJSON_GetObjectItem(im, "path")->valuestring;
        lq_image img = {0};
        char err[256];
        assert_int_equal(lq_image_load(lq_test_data(path), NULL, &img, err, sizeof err), 0);
        assert_int_equal(img.width, cJSON_GetObjectItem(im, "width")->valueint);
        assert_int_equal(img.height, cJSON_GetObjectItem(im, "height")->valueint);
        lq_hands hands;
        assert_int_equal(lq_tracker_process(t, &img, 0, &hands), 0);
        const cJSON *ref_hands = cJSON_GetObjectItem(im, "hands");
        const int nref = cJSON_GetArraySize(ref_hands);
        if (nref == hands.count)
            r.same_count++;
        else
            print_message("  %s: %d hand(s), MediaPipe %d\n", path, hands.count, nref);
        const double long_side = img.width > img.height ? img.width : img.height;
        /* Match each reference hand to our closest hand (at most 2 x 2). */
        int used[LQ_HAND_MAX] = {0};
        for (int j = 0; j < nref; j++) {
            const cJSON *rh = cJSON_GetArrayItem(ref_hands, j);
            const cJSON *lms = cJSON_GetObjectItem(rh, "landmarks");
            double best = INFINITY, best_err[LQ_HAND_LANDMARKS];
            int best_i = -1;
            r.ref_hands++;
            for (int i = 0; i < hands.count; i++) {
                double e[LQ_HAND_LANDMARKS];
                const double m = hand_errors(&hands.hand[i], lms, img.width, img.height, e);
                if (!used[i] && m < best) {
                    best = m, best_i = i;
                    memcpy(best_err, e, sizeof e);
                }
            }
            /* A hand more than 10% of the image away is another hand, not a match. */
            if (best_i < 0 || best / long_side > 0.10)
                continue;
            used[best_i] = 1;
            r.matched++;
            for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
                errs[nerr++] = best_err[i] / long_side;
            if (best / long_side > r.worst_hand_mean)
                r.worst_hand_mean = best / long_side;
            const char *label =
                cJSON_GetObjectItem(cJSON_GetObjectItem(rh, "handedness"), "label")->valuestring;
            const char *ours = hands.hand[best_i].handedness == LQ_HAND_LEFT ? "Left" : "Right";
            r.handedness_agree += strcmp(label, ours) == 0;
        }
        lq_image_free(&img);
    }
    qsort(errs, (size_t)nerr, sizeof *errs, cmp_double);
    r.median_err = nerr ? errs[nerr / 2] : 0;
    r.p90_err = nerr ? errs[(nerr * 9) / 10] : 0;
    free(errs);
    lq_tracker_destroy(t);
    cJSON_Delete(doc);
    print_message("%-10s %s: same hand count %d/%d (%.1f%%), matched %d/%d reference hands, "
                  "handedness agrees %d/%d, landmark error median %.4f%% p90 %.4f%% of the long "
                  "side, worst hand mean %.3f%%\n",
                  set, lq_hand_variant_name(v), r.same_count, r.images,
                  100.0 * r.same_count / r.images, r.matched, r.ref_hands, r.handedness_agree,
                  r.matched, 100 * r.median_err, 100 * r.p90_err, 100 * r.worst_hand_mean);
    return r;
}

static void check_set(const char *set, lq_hand_variant v)
{
    const set_result r = run_set(set, v);
    assert_true(r.same_count * 100 >= r.images * 95);
    assert_true(r.matched > 0);
    assert_true(r.median_err <= 0.01);
}

static void matches_mediapipe_on_hands_full(void **s)
{
    (void)s;
    check_set("hands", LQ_HAND_FULL);
}

static void matches_mediapipe_on_hands_lite(void **s)
{
    (void)s;
    check_set("hands", LQ_HAND_LITE);
}

static void matches_mediapipe_on_nails_full(void **s)
{
    (void)s;
    check_set("nails", LQ_HAND_FULL);
}

static void matches_mediapipe_on_nails_lite(void **s)
{
    (void)s;
    check_set("nails", LQ_HAND_LITE);
}

static void matches_mediapipe_on_palm_reach_frames(void **s)
{
    (void)s;
    check_set("palm_reach", LQ_HAND_FULL);
}

static void matches_mediapipe_on_thumb_ok_frames(void **s)
{
    (void)s;
    check_set("thumb_ok", LQ_HAND_FULL);
}

/* Upstream: MediaPipe's hands_test.py and TF.js's mediapipe_test.ts on this
 * image accept 20 px per landmark (25 px for MediaPipe's lite model). */
static void two_dorsal_hands_within_upstream_tolerance(lq_hand_variant v)
{
    cJSON *doc = load_json("landmarks/tfjs_hands_two_dorsal.landmarks.json");
    lq_image img = {0};
    char err[256];
    assert_int_equal(
        lq_image_load(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), NULL, &img, err, sizeof err),
        0);
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.variant = v;
    o.static_mode = 1;
    lq_tracker *t = NULL;
    assert_int_equal(lq_tracker_create(models, &o, &t), 0);
    lq_hands hands;
    assert_int_equal(lq_tracker_process(t, &img, 0, &hands), 0);
    assert_int_equal(hands.count, 2);

    const cJSON *sources = cJSON_GetObjectItem(doc, "sources");
    for (int s = 0; s < cJSON_GetArraySize(sources); s++) {
        const cJSON *src = cJSON_GetArrayItem(sources, s);
        const cJSON *tol = cJSON_GetObjectItem(src, "tolerance_px_in_upstream_test");
        double tolerance = cJSON_IsNumber(tol) ? tol->valuedouble : 0;
        if (cJSON_IsObject(tol))
            tolerance = cJSON_GetObjectItem(tol, v == LQ_HAND_FULL ? "full_model" : "lite_model")
                            ->valuedouble;
        if (v == LQ_HAND_LITE && cJSON_IsNumber(tol))
            continue; /* TF.js tested the full model only */
        const cJSON *hands_ref = cJSON_GetObjectItem(src, "hands");
        double worst = 0;
        const cJSON *hr;
        cJSON_ArrayForEach(hr, hands_ref)
        {
            /* Our hand closest to this reference hand. */
            double best = INFINITY, best_max = 0;
            for (int i = 0; i < hands.count; i++) {
                double sum = 0, mx = 0;
                for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                    const cJSON *p = cJSON_GetArrayItem(hr, k);
                    const double d =
                        hypot(hands.hand[i].lm[k].x - cJSON_GetArrayItem(p, 0)->valuedouble,
                              hands.hand[i].lm[k].y - cJSON_GetArrayItem(p, 1)->valuedouble);
                    sum += d;
                    mx = d > mx ? d : mx;
                }
                if (sum < best)
                    best = sum, best_max = mx;
            }
            print_message("two dorsal hands (%s model) vs %.40s... %s: mean %.2f px, max %.2f px "
                          "(tolerance %.0f px)\n",
                          lq_hand_variant_name(v), cJSON_GetObjectItem(src, "source")->valuestring,
                          hr->string, best / LQ_HAND_LANDMARKS, best_max, tolerance);
            worst = best_max > worst ? best_max : worst;
        }
        assert_true(worst <= tolerance);
    }
    lq_tracker_destroy(t);
    lq_image_free(&img);
    cJSON_Delete(doc);
}

static void two_dorsal_hands_full(void **s)
{
    (void)s;
    two_dorsal_hands_within_upstream_tolerance(LQ_HAND_FULL);
}

static void two_dorsal_hands_lite(void **s)
{
    (void)s;
    two_dorsal_hands_within_upstream_tolerance(LQ_HAND_LITE);
}

static void options_are_validated(void **s)
{
    (void)s;
    char err[128];
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    assert_int_equal(lq_tracker_opts_validate(&o, err, sizeof err), 0);
    o.max_hands = 3;
    assert_int_equal(lq_tracker_opts_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "max_hands"));
    o = (lq_tracker_opts)LQ_TRACKER_OPTS_DEFAULT;
    o.min_detection = NAN;
    assert_int_equal(lq_tracker_opts_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "min_detection"));
    o = (lq_tracker_opts)LQ_TRACKER_OPTS_DEFAULT;
    o.euro.min_cutoff = 0.0f;
    assert_int_equal(lq_tracker_opts_validate(&o, err, sizeof err), LQ_EINVAL);
    o = (lq_tracker_opts)LQ_TRACKER_OPTS_DEFAULT;
    o.variant = (lq_hand_variant)7;
    assert_int_equal(lq_tracker_opts_validate(&o, err, sizeof err), LQ_EINVAL);
    lq_tracker *t = NULL;
    assert_int_equal(lq_tracker_create(models, &o, &t), LQ_EINVAL);
    assert_null(t);

    lq_hand_variant v;
    assert_int_equal(lq_hand_variant_parse("LITE", &v), 0);
    assert_int_equal(v, LQ_HAND_LITE);
    assert_int_equal(lq_hand_variant_parse("heavy", &v), LQ_EINVAL);
}

static void missing_models_are_reported(void **s)
{
    (void)s;
    char err[512];
    lq_hand_models *m = NULL;
    const int rc = lq_hand_models_load("/nonexistent-dir", LQ_HAND_LOAD_FULL, &m, err, sizeof err);
    assert_true(rc < 0);
    assert_null(m);
    assert_non_null(strstr(err, "palm_detection_full.tflite"));
    assert_int_equal(lq_hand_models_load(LQ_MODELS_DIR, 0, &m, err, sizeof err), LQ_EINVAL);
}

static void bad_frames_are_refused_and_trackers_share_workers(void **s)
{
    (void)s;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    lq_tracker *own = NULL, *shared = NULL;
    assert_int_equal(lq_tracker_create(models, &o, &own), 0);
    o.variant = LQ_HAND_LITE;
    assert_int_equal(lq_tracker_create_shared(models, &o, &shared), 0);

    lq_hands hands;
    lq_image empty = {0};
    assert_int_equal(lq_tracker_process(own, &empty, 0, &hands), LQ_EINVAL);
    assert_int_equal(hands.count, 0);
    assert_int_equal(lq_tracker_process(own, NULL, 0, &hands), LQ_EINVAL);
    assert_int_equal(lq_tracker_process(shared, &empty, 0, &hands), LQ_ESTATE);

    lq_image img = {0};
    char err[256];
    assert_int_equal(
        lq_image_load(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), NULL, &img, err, sizeof err),
        0);
    assert_int_equal(lq_tracker_process(shared, &img, 0, &hands), LQ_ESTATE);

    /* One worker serves both variants and two trackers in turn. */
    lq_hand_worker *w = NULL;
    assert_int_equal(lq_hand_worker_create(models, 1, &w), 0);
    for (int f = 0; f < 3; f++) {
        assert_int_equal(lq_tracker_process_on(shared, w, &img, f * 40000, &hands), 0);
        assert_int_equal(hands.count, 2);
        assert_int_equal(hands.t.palm_runs, f == 0); /* tracked after the first frame */
        assert_int_equal(hands.t.landmark_runs, 2);
        lq_hands h2;
        assert_int_equal(lq_tracker_process_on(own, w, &img, f * 40000, &h2), 0);
        assert_int_equal(h2.count, 2);
        assert_true(h2.hand[0].track_id != h2.hand[1].track_id);
        assert_true(h2.t.total_ms > 0);
    }
    /* Track ids stay; reset forgets them and re-detects. */
    const int id0 = hands.hand[0].track_id;
    assert_int_equal(lq_tracker_process_on(shared, w, &img, 200000, &hands), 0);
    assert_int_equal(hands.hand[0].track_id, id0);
    lq_tracker_reset(shared);
    assert_int_equal(lq_tracker_process_on(shared, w, &img, 240000, &hands), 0);
    assert_int_equal(hands.t.palm_runs, 1);
    assert_true(hands.hand[0].track_id != id0 && hands.hand[1].track_id != id0);

    /* A frame without hands: nothing, and the detector runs again next time. */
    lq_image black = {0};
    assert_int_equal(lq_image_alloc(&black, 320, 240), 0);
    memset(black.data, 0, (size_t)black.stride * 240);
    assert_int_equal(lq_tracker_process(own, &black, 400000, &hands), 0);
    assert_int_equal(hands.count, 0);
    assert_int_equal(lq_tracker_process(own, &black, 440000, &hands), 0);
    assert_int_equal(hands.t.palm_runs, 1);

    lq_image_free(&black);
    lq_image_free(&img);
    lq_hand_worker_destroy(w);
    lq_tracker_destroy(own);
    lq_tracker_destroy(shared);
}

static void max_hands_one_keeps_the_best(void **s)
{
    (void)s;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.max_hands = 1;
    lq_tracker *t = NULL;
    assert_int_equal(lq_tracker_create(models, &o, &t), 0);
    lq_image img = {0};
    char err[256];
    assert_int_equal(
        lq_image_load(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), NULL, &img, err, sizeof err),
        0);
    lq_hands hands;
    for (int f = 0; f < 3; f++) {
        assert_int_equal(lq_tracker_process(t, &img, f * 40000, &hands), 0);
        assert_int_equal(hands.count, 1);
        assert_int_equal(hands.t.palm_runs, f == 0);
    }
    lq_image_free(&img);
    lq_tracker_destroy(t);
}

/* One hand in view, two allowed: MediaPipe runs the palm detector on every
 * frame; with redetect_frames = 5 it runs on the first frame and then on
 * every 5th, while the hand stays tracked throughout. */
static void redetect_frames_spaces_out_the_palm_detector(void **s)
{
    (void)s;
    for (int every = 1; every <= 5; every += 4) {
        lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
        o.redetect_frames = every;
        lq_tracker *t = NULL;
        assert_int_equal(lq_tracker_create(models, &o, &t), 0);
        int runs = 0, found = 0;
        char rel[64], err[256];
        for (int f = 0; f < 20; f++) {
            snprintf(rel, sizeof rel, "video/palm_reach/%04d.webp", 150 + f);
            lq_image img = {0};
            assert_int_equal(lq_image_load(lq_test_data(rel), NULL, &img, err, sizeof err), 0);
            lq_hands hands;
            assert_int_equal(lq_tracker_process(t, &img, (int64_t)f * 40000, &hands), 0);
            runs += hands.t.palm_runs;
            found += hands.count == 1;
            lq_image_free(&img);
        }
        printf("redetect_frames %d: palm detector on %d of 20 frames, hand on %d\n", every, runs,
               found);
        assert_int_equal(found, 20);
        assert_int_equal(runs, every == 1 ? 20 : 4);
        lq_tracker_destroy(t);
    }
    lq_tracker_opts bad = LQ_TRACKER_OPTS_DEFAULT;
    char err[128];
    bad.redetect_frames = 0;
    assert_int_equal(lq_tracker_opts_validate(&bad, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "redetect_frames"));
}

/* A worker with two threads and a gate: the gate is asked before every
 * inference, and each answer picks the runner set (parallel or the calling
 * thread alone) without changing the result: the same frames through a
 * gated worker (alternating answers) and a plain one-thread worker give the
 * same landmarks. */
typedef struct gate_state {
    int calls;
} gate_state;

static int alternate_gate(void *ud)
{
    gate_state *g = ud;
    return g->calls++ % 2;
}

static void gated_parallel_worker_gives_the_same_landmarks(void **s)
{
    (void)s;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    lq_tracker *ta = NULL, *tb = NULL;
    lq_hand_worker *one = NULL, *two = NULL;
    assert_int_equal(lq_tracker_create_shared(models, &o, &ta), 0);
    assert_int_equal(lq_tracker_create_shared(models, &o, &tb), 0);
    assert_int_equal(lq_hand_worker_create(models, 1, &one), 0);
    assert_int_equal(lq_hand_worker_create(models, 2, &two), 0);
    gate_state g = {0};
    lq_hand_worker_set_gate(two, alternate_gate, &g);
    int inferences = 0;
    char rel[64], err[256];
    for (int f = 0; f < 8; f++) {
        snprintf(rel, sizeof rel, "video/palm_reach/%04d.webp", 120 + f);
        lq_image img = {0};
        assert_int_equal(lq_image_load(lq_test_data(rel), NULL, &img, err, sizeof err), 0);
        lq_hands a, b;
        assert_int_equal(lq_tracker_process_on(ta, one, &img, (int64_t)f * 40000, &a), 0);
        assert_int_equal(lq_tracker_process_on(tb, two, &img, (int64_t)f * 40000, &b), 0);
        assert_int_equal(a.count, b.count);
        assert_true(a.count >= 1);
        for (int h = 0; h < a.count; h++)
            for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                assert_true(fabsf(a.hand[h].lm[k].x - b.hand[h].lm[k].x) < 1e-2f);
                assert_true(fabsf(a.hand[h].lm[k].y - b.hand[h].lm[k].y) < 1e-2f);
            }
        inferences += b.t.palm_runs + b.t.landmark_runs;
        lq_image_free(&img);
    }
    /* one gate call per model run: palm runs plus one landmark run per hand */
    assert_int_equal(g.calls, inferences);
    lq_hand_worker_destroy(one);
    lq_hand_worker_destroy(two);
    lq_tracker_destroy(ta);
    lq_tracker_destroy(tb);
}

/* The concurrent second-hand search (lq_hand_worker_set_concurrent) gives
 * exactly what the sequential order gives: the same one-thread runners, only
 * on two threads. A one-hand clip with the detector due every 3rd frame, then
 * a photo of two other hands (the tracked ROI is lost, both are detected). The
 * gate is asked only by the concurrent path (one-thread runners never ask
 * it), once per frame where it could run; closed, the frame runs in order. */
static int counting_gate(void *ud)
{
    gate_state *g = ud;
    g->calls++;
    return g->calls % 4 != 0; /* closed now and then */
}

static void concurrent_detect_gives_the_same_hands(void **s)
{
    (void)s;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.redetect_frames = 3;
    lq_tracker *ta = NULL, *tb = NULL;
    lq_hand_worker *seq = NULL, *conc = NULL;
    assert_int_equal(lq_tracker_create_shared(models, &o, &ta), 0);
    assert_int_equal(lq_tracker_create_shared(models, &o, &tb), 0);
    assert_int_equal(lq_hand_worker_create(models, 1, &seq), 0);
    assert_int_equal(lq_hand_worker_create(models, 1, &conc), 0);
    assert_int_equal(lq_hand_worker_set_concurrent(conc, 1), 0);
    assert_int_equal(lq_hand_worker_set_concurrent(conc, 1), 0); /* idempotent */
    assert_int_equal(lq_hand_worker_set_concurrent(NULL, 1), LQ_EINVAL);
    gate_state g = {0};
    lq_hand_worker_set_gate(conc, counting_gate, &g);
    int due_with_track = 0, two = 0;
    char rel[64], err[256];
    for (int f = 0; f < 16; f++) {
        if (f < 12)
            snprintf(rel, sizeof rel, "video/palm_reach/%04d.webp", 120 + f);
        else
            snprintf(rel, sizeof rel, "hands/tfjs_hands_two_dorsal.jpg");
        lq_image img = {0};
        assert_int_equal(lq_image_load(lq_test_data(rel), NULL, &img, err, sizeof err), 0);
        lq_hands a, b;
        assert_int_equal(lq_tracker_process_on(ta, seq, &img, (int64_t)f * 40000, &a), 0);
        assert_int_equal(lq_tracker_process_on(tb, conc, &img, (int64_t)f * 40000, &b), 0);
        assert_int_equal(a.count, b.count);
        assert_int_equal(a.t.palm_runs, b.t.palm_runs);
        assert_int_equal(a.t.landmark_runs, b.t.landmark_runs);
        for (int h = 0; h < a.count; h++) {
            assert_int_equal(a.hand[h].track_id, b.hand[h].track_id);
            assert_int_equal(a.hand[h].handedness, b.hand[h].handedness);
            assert_true(a.hand[h].presence == b.hand[h].presence);
            for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                assert_true(a.hand[h].lm[k].x == b.hand[h].lm[k].x);
                assert_true(a.hand[h].lm[k].y == b.hand[h].lm[k].y);
                assert_true(a.hand[h].lm[k].z == b.hand[h].lm[k].z);
            }
        }
        if (a.t.palm_runs && a.t.landmark_runs > 0 && f > 0 && f < 13)
            due_with_track++;
        two += a.count == 2;
        lq_image_free(&img);
    }
    printf("concurrent detect: gate asked %d times, %d frames searched beside a tracked hand, "
           "%d frames with two hands\n",
           g.calls, due_with_track, two);
    assert_true(g.calls >= 4); /* both the open and the closed branch ran */
    assert_true(two >= 1);
    assert_int_equal(lq_hand_worker_set_concurrent(conc, 0), 0);
    lq_hand_worker_destroy(seq);
    lq_hand_worker_destroy(conc);
    lq_tracker_destroy(ta);
    lq_tracker_destroy(tb);
}

typedef struct thread_job {
    const lq_image *frames;
    int nframes;
    lq_hands out[8];
    int rc;
} thread_job;

static void *track_frames(void *arg)
{
    thread_job *j = arg;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    lq_tracker *t = NULL;
    j->rc = lq_tracker_create(models, &o, &t);
    for (int i = 0; i < j->nframes && j->rc == 0; i++)
        j->rc = lq_tracker_process(t, &j->frames[i], i * 40000, &j->out[i]);
    lq_tracker_destroy(t);
    return NULL;
}

static void trackers_run_concurrently_on_shared_models(void **s)
{
    (void)s;
    /* Two threads, one tracker each, the same models: the results equal a
     * lone run's, bit for bit. */
    lq_image frames[8];
    char err[256];
    for (int i = 0; i < 8; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "video/thumb_ok/%04d.webp", 40 + i);
        frames[i] = (lq_image){0};
        assert_int_equal(lq_image_load(lq_test_data(rel), NULL, &frames[i], err, sizeof err), 0);
    }
    static thread_job alone, a, b;
    alone = (thread_job){frames, 8, {{0}}, 0};
    track_frames(&alone);
    assert_int_equal(alone.rc, 0);
    a = alone, b = alone;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, track_frames, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, track_frames, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    int hands = 0;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(a.out[i].count, alone.out[i].count);
        assert_int_equal(b.out[i].count, alone.out[i].count);
        hands += alone.out[i].count;
        for (int k = 0; k < alone.out[i].count; k++) {
            assert_memory_equal(a.out[i].hand[k].lm, alone.out[i].hand[k].lm,
                                sizeof alone.out[i].hand[k].lm);
            assert_memory_equal(b.out[i].hand[k].world, alone.out[i].hand[k].world,
                                sizeof alone.out[i].hand[k].world);
        }
    }
    assert_true(hands >= 8);
    for (int i = 0; i < 8; i++)
        lq_image_free(&frames[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_are_validated),
        cmocka_unit_test(missing_models_are_reported),
        cmocka_unit_test(bad_frames_are_refused_and_trackers_share_workers),
        cmocka_unit_test(max_hands_one_keeps_the_best),
        cmocka_unit_test(redetect_frames_spaces_out_the_palm_detector),
        cmocka_unit_test(gated_parallel_worker_gives_the_same_landmarks),
        cmocka_unit_test(concurrent_detect_gives_the_same_hands),
        cmocka_unit_test(trackers_run_concurrently_on_shared_models),
        cmocka_unit_test(two_dorsal_hands_full),
        cmocka_unit_test(two_dorsal_hands_lite),
        cmocka_unit_test(matches_mediapipe_on_hands_full),
        cmocka_unit_test(matches_mediapipe_on_hands_lite),
        cmocka_unit_test(matches_mediapipe_on_nails_full),
        cmocka_unit_test(matches_mediapipe_on_nails_lite),
        cmocka_unit_test(matches_mediapipe_on_palm_reach_frames),
        cmocka_unit_test(matches_mediapipe_on_thumb_ok_frames),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
