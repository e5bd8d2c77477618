/* test_tryon_segment.c - the try-on pipeline with a nail segmentation model
 * (src/tryon/tryon.c find_nails, docs/segmentation.md), using a synthetic
 * "red detector" network so that the expected nails are known exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "nails/segment_fuse.h"
#include "colour_model.h"
#include "tryon/tryon.h"

/* A grey frame (no hand for the palm detector) with two red "nails". */
static void nail_frame(lq_image *f, float shift)
{
    assert_int_equal(lq_image_alloc(f, 640, 480), 0);
    for (int y = 0; y < 480; y++)
        for (int x = 0; x < 640; x++) {
            uint8_t *p = lq_image_px(f, x, y);
            float u = ((float)x + 0.5f - 250.0f - shift) / 22.0f, v = ((float)y + 0.5f - 240.0f) / 34.0f;
            float u2 = ((float)x + 0.5f - 420.0f - shift) / 18.0f, v2 = ((float)y + 0.5f - 250.0f) / 28.0f;
            int in = u * u + v * v <= 1.0f || u2 * u2 + v2 * v2 <= 1.0f;
            p[0] = in ? 205 : 120;
            p[1] = in ? 35 : 122;
            p[2] = in ? 55 : 125;
        }
}

static int have_models(void)
{
    return lq_test_exists(lq_test_model("palm_detection_full.tflite")) &&
           lq_test_exists(lq_test_model("hand_landmark_full.tflite"));
}

static void segmentation_finds_nails_without_a_hand(void **state)
{
    (void)state;
    if (!have_models()) {
        print_message("no hand models, skipped\n");
        skip();
    }
    char err[512] = "";
    lq_tryon_engine_opts eo = {.models_dir = LQ_MODELS_DIR,
                               .nailseg_path = lq_test_red_nail_model("tryon_red.tflite")};
    assert_non_null(eo.nailseg_path);
    lq_tryon_engine *e = NULL;
    assert_int_equal(lq_tryon_engine_create(&eo, &e, err, sizeof err), 0);
    lq_tryon_worker *w = NULL;
    assert_int_equal(lq_tryon_worker_create(e, &w), 0);
    nail_design d;
    nail_design_default(&d);
    lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
    lq_tryon_session *s = NULL, *off = NULL;
    assert_int_equal(lq_tryon_session_create(e, &d, &so, &s), 0);
    so.segmentation = 0;
    assert_int_equal(lq_tryon_session_create(e, &d, &so, &off), 0);

    static lq_tryon_result r;
    int first_ids[2] = {0, 0};
    for (int i = 0; i < 8; i++) {
        lq_image f, orig;
        nail_frame(&f, 0.5f * (float)i);
        assert_int_equal(lq_image_copy(&orig, &f), 0);
        assert_int_equal(lq_tryon_process(w, s, &f, 1000 + i * 40000, &r), 0);
        assert_int_equal(r.hands.count, 0);
        assert_true(r.problems & LQ_PROBLEM_NO_HAND);
        assert_int_equal(r.nnails, 2);
        assert_int_equal(r.nails_segmented, 2);
        assert_int_equal(r.fingertips_mask, 0u);
        assert_true(r.t.seg_ms > 0.0);
        assert_true(r.confidence > 0.3f);
        for (int k = 0; k < 2; k++) {
            const nail_geom *g = &r.nails[k];
            assert_int_equal(g->hand, -1);
            assert_int_equal(g->finger, -1);
            assert_true(g->track_id >= NAIL_SEG_TRACK_ID_BASE);
            /* which one is it, and is it where it was drawn */
            int left = g->cx < 335.0f;
            float cx = (left ? 250.0f : 420.0f) + 0.5f * (float)i, cy = left ? 240.0f : 250.0f;
            assert_float_equal(g->cx, cx, 4.0f);
            assert_float_equal(g->cy, cy, 4.0f);
            assert_float_equal(g->length, left ? 68.0f : 56.0f, 10.0f);
            assert_true(fabsf(g->ay) > 0.95f);
            if (i == 0)
                first_ids[left] = g->track_id;
            else
                assert_int_equal(g->track_id, first_ids[left]); /* stable */
        }
        assert_true(r.overlay_applied);
        /* the polish changed the nail's pixels and nothing far from them */
        assert_memory_not_equal(lq_image_px(&f, 250, 240), lq_image_px(&orig, 250, 240), 3);
        assert_memory_equal(lq_image_px(&f, 50, 50), lq_image_px(&orig, 50, 50), 3);
        assert_memory_equal(lq_image_px(&f, 600, 400), lq_image_px(&orig, 600, 400), 3);
        lq_image_free(&f);

        /* the same frame with segmentation off: no nail, untouched */
        nail_frame(&f, 0.5f * (float)i);
        assert_int_equal(lq_tryon_process(w, off, &f, 1000 + i * 40000, &r), 0);
        assert_int_equal(r.nnails, 0);
        assert_int_equal(r.nails_segmented, 0);
        assert_memory_equal(f.data, orig.data, (size_t)f.stride * 480u);
        lq_image_free(&f);
        lq_image_free(&orig);
    }
    /* "only without a hand": this frame has none, so the network runs */
    so.segmentation = 2;
    lq_tryon_session *nohand = NULL;
    assert_int_equal(lq_tryon_session_create(e, &d, &so, &nohand), 0);
    lq_image f;
    nail_frame(&f, 0.0f);
    assert_int_equal(lq_tryon_process(w, nohand, &f, 1000, &r), 0);
    assert_int_equal(r.nails_segmented, 2);
    lq_image_free(&f);
    lq_tryon_session_destroy(nohand);
    so.segmentation = 3;
    assert_int_equal(lq_tryon_session_create(e, &d, &so, &nohand), LQ_EINVAL);
    lq_tryon_session_destroy(s);
    lq_tryon_session_destroy(off);
    lq_tryon_worker_destroy(w);
    lq_tryon_engine_destroy(e);
}

/* A missing or broken model turns segmentation off; the engine still works. */
static void missing_model_is_not_an_error(void **state)
{
    (void)state;
    if (!have_models()) {
        print_message("no hand models, skipped\n");
        skip();
    }
    char err[512] = "";
    const char *paths[] = {"/nonexistent/nailseg.tflite", "", LQ_MODELS_DIR "/palm_detection_full.tflite"};
    for (size_t k = 0; k < 3; k++) {
        lq_tryon_engine_opts eo = {.models_dir = LQ_MODELS_DIR, .nailseg_path = paths[k]};
        lq_tryon_engine *e = NULL;
        assert_int_equal(lq_tryon_engine_create(&eo, &e, err, sizeof err), 0);
        lq_tryon_worker *w = NULL;
        assert_int_equal(lq_tryon_worker_create(e, &w), 0);
        nail_design d;
        nail_design_default(&d);
        lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
        lq_tryon_session *s = NULL;
        assert_int_equal(lq_tryon_session_create(e, &d, &so, &s), 0);
        lq_image f;
        nail_frame(&f, 0.0f);
        static lq_tryon_result r;
        assert_int_equal(lq_tryon_process(w, s, &f, 1000, &r), 0);
        assert_int_equal(r.nnails, 0);
        assert_true(r.t.seg_ms == 0.0);
        lq_image_free(&f);
        lq_tryon_session_destroy(s);
        lq_tryon_worker_destroy(w);
        lq_tryon_engine_destroy(e);
    }
    lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
    so.segmentation = -1;
    assert_int_equal(lq_tryon_session_opts_validate(&so, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "segmentation"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(segmentation_finds_nails_without_a_hand),
        cmocka_unit_test(missing_model_is_not_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
