/* The nail-mask evaluation: pixel counting, and the IoU of our outlines on
 * the 40 annotated photos with a floor, from the reference landmarks and from
 * our own hand tracker. Prints the figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hand/tracker.h"
#include "hand_tracker.h"
#include "lq_test.h"
#include "nails/nail_eval.h"
#include "ref_landmarks.h"

/* Floors a little below what the current code reaches (reference landmarks:
 * 0.263 over all 40, 0.584 over the 18 with a hand; our tracker finds the
 * same 18 hands and scores the same within 0.01). */
#define FLOOR_MEAN_IOU 0.24
#define FLOOR_MEAN_IOU_HAND 0.55
#define FLOOR_PRECISION 0.75

static void counts_pixels_and_scores_iou(void **state)
{
    (void)state;
    lq_image truth;
    assert_int_equal(lq_image_alloc(&truth, 4, 2), 0);
    memset(truth.data, 0, (size_t)truth.stride * 2);
    /* truth: the left half is nail */
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            memset(lq_image_px(&truth, x, y), 255, 3);
    /* prediction: the middle two columns */
    uint8_t pred[8] = {0, 255, 255, 0, 0, 255, 255, 0};
    uint64_t tp = 0, fp = 0, fn = 0;
    assert_int_equal(nail_eval_compare(pred, 4, &truth, &tp, &fp, &fn), 0);
    assert_true(tp == 2 && fp == 2 && fn == 2);
    assert_true(nail_eval_iou(tp, fp, fn) > 0.333 && nail_eval_iou(tp, fp, fn) < 0.334);
    assert_true(nail_eval_iou(0, 0, 0) == 1.0);
    assert_true(nail_eval_iou(0, 5, 0) == 0.0);
    assert_int_equal(nail_eval_compare(pred, 3, &truth, &tp, &fp, &fn), LQ_EINVAL);
    assert_int_equal(nail_eval_compare(NULL, 4, &truth, &tp, &fp, &fn), LQ_EINVAL);
    lq_image_free(&truth);

    nail_eval_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    nail_eval_opts o = NAIL_EVAL_OPTS_DEFAULT;
    assert_int_equal(nail_eval_dataset(&o, NULL, NULL, r), LQ_EINVAL);
    o.images_dir = "/nonexistent/images";
    o.masks_dir = "/nonexistent/masks";
    free(r);
}

static int ref_hands(void *ud, const char *file, const lq_image *img, lq_hands *out)
{
    (void)img;
    const lq_ref_image *r = lq_ref_find(ud, file);
    if (r)
        *out = r->hands;
    else
        out->count = 0;
    return 0;
}

static int tracker_hands(void *ud, const char *file, const lq_image *img, lq_hands *out)
{
    (void)file;
    return lq_tracker_process(ud, img, 0, out);
}

static void print_result(const char *what, const nail_eval_result *r)
{
    print_message("%-34s mean IoU %.3f over %d images | %.3f over the %d with a hand (%d without) "
                  "| precision %.3f recall %.3f (with a hand: %.3f %.3f) | nail_locate %.3f "
                  "ms/image\n",
                  what, r->mean_iou, r->images, r->mean_iou_hand, r->images_with_hand,
                  r->images_without_hand, r->precision, r->recall, r->precision_hand,
                  r->recall_hand, r->locate_ms_mean);
}

static int have_data(void)
{
    return lq_test_exists(lq_test_data("nails/images")) &&
           lq_test_exists(lq_test_data("landmarks/mediapipe_nails_full.json"));
}

static void iou_from_reference_landmarks(void **state)
{
    (void)state;
    if (!have_data()) {
        print_message("no shared data, skipped\n");
        skip();
    }
    lq_ref_set set;
    assert_int_equal(lq_ref_load(lq_test_data("landmarks/mediapipe_nails_full.json"), &set), 0);
    nail_eval_result *raw = calloc(1, sizeof *raw), *ref = calloc(1, sizeof *ref);
    assert_non_null(raw);
    assert_non_null(ref);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/test-output/nail_overlays", LQ_BINARY_DIR);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s/test-output", LQ_BINARY_DIR);
    mkdir(parent, 0755);
    int have_dir = mkdir(dir, 0755) == 0 || errno == EEXIST;

    nail_eval_opts o = NAIL_EVAL_OPTS_DEFAULT;
    char images[4096], masks[4096];
    snprintf(images, sizeof images, "%s", lq_test_data("nails/images"));
    snprintf(masks, sizeof masks, "%s", lq_test_data("nails/masks"));
    o.images_dir = images;
    o.masks_dir = masks;
    o.locate.refine = 0;
    assert_int_equal(nail_eval_dataset(&o, ref_hands, &set, raw), 0);
    print_result("reference landmarks, no refinement", raw);
    o.locate.refine = 1;
    o.overlay_dir = have_dir ? dir : NULL;
    assert_int_equal(nail_eval_dataset(&o, ref_hands, &set, ref), 0);
    print_result("reference landmarks, refined", ref);
    if (have_dir)
        print_message("overlays (green: mask, red: outline, yellow: both) in %s\n", dir);

    assert_int_equal(ref->images, 40);
    /* MediaPipe's palm detector finds no hand on these: they all score 0 and
     * cap the mean over 40 at (images with a hand) / 40 */
    print_message("images without a hand: %d of %d -> the mean over all is capped at %.3f\n",
                  ref->images_without_hand, ref->images,
                  (double)ref->images_with_hand / ref->images);
    assert_true(ref->images_without_hand >= 20);
    assert_true(ref->mean_iou >= FLOOR_MEAN_IOU);
    assert_true(ref->mean_iou_hand >= FLOOR_MEAN_IOU_HAND);
    assert_true(ref->precision >= FLOOR_PRECISION);
    /* the pixels missed are mostly on the images without a hand */
    assert_true(ref->recall_hand > 2.0 * ref->recall);
    /* refinement must help */
    assert_true(ref->mean_iou_hand > raw->mean_iou_hand + 0.02);
    for (int i = 0; i < ref->images; i++)
        if (ref->per[i].hands > 0)
            print_message("  %.13s hands %d nails %2d IoU %.3f -> %.3f  P %.3f R %.3f\n",
                          ref->per[i].file, ref->per[i].hands, ref->per[i].nails,
                          raw->per[i].iou, ref->per[i].iou, ref->per[i].precision,
                          ref->per[i].recall);
    free(raw);
    free(ref);
    lq_ref_free(&set);
}

static void iou_from_our_own_tracker(void **state)
{
    (void)state;
    if (!have_data() || !lq_test_exists(lq_test_model("palm_detection_full.tflite"))) {
        print_message("no shared data or models, skipped\n");
        skip();
    }
    lq_hand_models *m = NULL;
    lq_tracker *t = NULL;
    lq_test_static_tracker(&m, &t);
    nail_eval_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    nail_eval_opts o = NAIL_EVAL_OPTS_DEFAULT;
    char images[4096], masks[4096];
    snprintf(images, sizeof images, "%s", lq_test_data("nails/images"));
    snprintf(masks, sizeof masks, "%s", lq_test_data("nails/masks"));
    o.images_dir = images;
    o.masks_dir = masks;
    assert_int_equal(nail_eval_dataset(&o, tracker_hands, t, r), 0);
    print_result("our tracker (static, full), refined", r);
    assert_int_equal(r->images, 40);
    assert_true(r->mean_iou >= FLOOR_MEAN_IOU);
    assert_true(r->mean_iou_hand >= FLOOR_MEAN_IOU_HAND);
    assert_true(r->precision >= FLOOR_PRECISION);
    free(r);
    lq_tracker_destroy(t);
    lq_hand_models_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_pixels_and_scores_iou),
        cmocka_unit_test(iou_from_reference_landmarks),
        cmocka_unit_test(iou_from_our_own_tracker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
