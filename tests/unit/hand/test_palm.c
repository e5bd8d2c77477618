#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "hand/palm.h"
#include "lq_test.h"

#define N LQ_PALM_NUM_ANCHORS

static lq_ssd_anchor anchors[N];
static float raw_boxes[N * LQ_PALM_COORDS];
static float raw_scores[N];

static int setup(void **state)
{
    (void)state;
    int n = 0;
    lq_ssd_anchor_opts o = lq_palm_anchor_opts();
    if (lq_ssd_anchors_generate(&o, anchors, N, &n) != 0 || n != N)
        return -1;
    memset(raw_boxes, 0, sizeof raw_boxes);
    for (int i = 0; i < N; i++)
        raw_scores[i] = -50.0f;
    return 0;
}

/* Writes the raw outputs that decode to a box centred at (cx, cy) of size
 * (w, h) with keypoint k at (cx + 0.01 k, cy - 0.02 k), for anchor i. */
static void put_box(int i, float cx, float cy, float w, float h, float logit)
{
    float *r = raw_boxes + i * LQ_PALM_COORDS;
    const lq_ssd_anchor *a = &anchors[i];
    r[0] = (cx - a->x_center) * 192.0f / a->w;
    r[1] = (cy - a->y_center) * 192.0f / a->h;
    r[2] = w * 192.0f / a->w;
    r[3] = h * 192.0f / a->h;
    for (int k = 0; k < LQ_PALM_KEYPOINTS; k++) {
        r[4 + 2 * k] = (cx + 0.01f * (float)k - a->x_center) * 192.0f / a->w;
        r[5 + 2 * k] = (cy - 0.02f * (float)k - a->y_center) * 192.0f / a->h;
    }
    raw_scores[i] = logit;
}

static void decodes_boxes_keypoints_and_scores(void **state)
{
    (void)setup(state);
    put_box(0, 0.30f, 0.40f, 0.20f, 0.10f, 2.0f);
    put_box(1500, 0.70f, 0.60f, 0.10f, 0.30f, 1000.0f); /* clipped at 100 */
    put_box(700, 0.50f, 0.50f, 0.10f, 0.10f, -0.01f);   /* score just below 0.5 */
    put_box(900, 0.50f, 0.50f, 0.10f, 0.10f, 0.0f);     /* exactly 0.5: kept */
    put_box(1000, 0.50f, 0.50f, -0.10f, 0.10f, 5.0f);   /* negative width: dropped */
    lq_palm_detection d[8];
    const int n = lq_palm_decode(raw_boxes, raw_scores, anchors, N, 0.5f, d, 8);
    assert_int_equal(n, 3);
    /* Anchor order is kept. */
    assert_float_equal(d[0].box.xmin, 0.20f, 1e-5);
    assert_float_equal(d[0].box.ymin, 0.35f, 1e-5);
    assert_float_equal(d[0].box.w, 0.20f, 1e-5);
    assert_float_equal(d[0].box.h, 0.10f, 1e-5);
    assert_float_equal(d[0].score, 1.0f / (1.0f + expf(-2.0f)), 1e-6);
    assert_float_equal(d[0].kp[3][0], 0.33f, 1e-5);
    assert_float_equal(d[0].kp[3][1], 0.34f, 1e-5);
    assert_float_equal(d[1].score, 0.5f, 0);
    assert_float_equal(d[2].box.xmin, 0.65f, 1e-5);
    assert_float_equal(d[2].box.h, 0.30f, 1e-5);
    assert_float_equal(d[2].score, 1.0f / (1.0f + expf(-100.0f)), 0);
    /* cap limits the output */
    assert_int_equal(lq_palm_decode(raw_boxes, raw_scores, anchors, N, 0.5f, d, 1), 1);
}

static lq_palm_detection det(float x, float y, float w, float h, float score, float kx)
{
    lq_palm_detection d;
    memset(&d, 0, sizeof d);
    d.box = (lq_box){x, y, w, h};
    d.score = score;
    for (int k = 0; k < LQ_PALM_KEYPOINTS; k++) {
        d.kp[k][0] = kx + (float)k;
        d.kp[k][1] = kx - (float)k;
    }
    return d;
}

static void weighted_nms_merges_overlaps(void **state)
{
    (void)state;
    lq_palm_detection in[4] = {
        det(0.10f, 0.10f, 0.20f, 0.20f, 0.6f, 1.0f),
        det(0.60f, 0.60f, 0.20f, 0.20f, 0.7f, 5.0f), /* far away: its own result */
        det(0.12f, 0.10f, 0.20f, 0.20f, 0.9f, 2.0f),
        det(0.10f, 0.12f, 0.20f, 0.20f, 0.8f, 3.0f),
    };
    int order[4];
    lq_palm_detection out[4];
    const int n = lq_palm_nms_weighted(in, 4, 0.3f, order, out, 4);
    assert_int_equal(n, 2);
    /* Top result: the 0.9 box merged with the 0.8 and 0.6 ones. */
    const float tot = 0.9f + 0.8f + 0.6f;
    assert_float_equal(out[0].score, 0.9f, 0);
    const float xmin = (0.12f * 0.9f + 0.10f * 0.8f + 0.10f * 0.6f) / tot;
    const float ymin = (0.10f * 0.9f + 0.12f * 0.8f + 0.10f * 0.6f) / tot;
    assert_float_equal(out[0].box.xmin, xmin, 1e-6);
    assert_float_equal(out[0].box.ymin, ymin, 1e-6);
    assert_float_equal(out[0].box.w, 0.20f, 1e-6);
    assert_float_equal(out[0].box.h, 0.20f, 1e-6);
    assert_float_equal(out[0].kp[0][0], (2.0f * 0.9f + 3.0f * 0.8f + 1.0f * 0.6f) / tot, 1e-5);
    assert_float_equal(out[0].kp[6][1], (-4.0f * 0.9f - 3.0f * 0.8f - 5.0f * 0.6f) / tot, 1e-5);
    /* Second: the distant box alone, unchanged. */
    assert_float_equal(out[1].score, 0.7f, 0);
    assert_float_equal(out[1].box.xmin, 0.60f, 0);
    assert_float_equal(out[1].kp[2][0], 7.0f, 0);
}

static void weighted_nms_is_not_transitive(void **state)
{
    (void)state;
    /* B overlaps A (IoU 0.6), C overlaps B (IoU 0.48) but not A (0.25). */
    lq_palm_detection in[3] = {
        det(0.00f, 0.0f, 0.40f, 0.40f, 0.9f, 0.0f), /* A */
        det(0.10f, 0.0f, 0.40f, 0.40f, 0.8f, 0.0f), /* B */
        det(0.24f, 0.0f, 0.40f, 0.40f, 0.7f, 0.0f), /* C */
    };
    int order[3];
    lq_palm_detection out[3];
    assert_int_equal(lq_palm_nms_weighted(in, 3, 0.3f, order, out, 3), 2);
    assert_float_equal(out[0].box.xmin, (0.0f * 0.9f + 0.10f * 0.8f) / 1.7f, 1e-6);
    assert_float_equal(out[1].score, 0.7f, 0);
    assert_float_equal(out[1].box.xmin, 0.24f, 1e-7);
    /* cap */
    assert_int_equal(lq_palm_nms_weighted(in, 3, 0.3f, order, out, 1), 1);
    assert_int_equal(lq_palm_nms_weighted(in, 0, 0.3f, order, out, 3), 0);
}

static void letterbox_is_removed(void **state)
{
    (void)state;
    /* 640x480 letterboxed into a square: 0.125 of padding top and bottom. */
    lq_palm_detection d = det(0.25f, 0.125f, 0.5f, 0.375f, 0.9f, 0.0f);
    d.kp[0][0] = 0.5f;
    d.kp[0][1] = 0.5f;
    d.kp[1][1] = 0.875f;
    lq_palm_remove_letterbox(&d, 0.0f, 0.125f);
    assert_float_equal(d.box.xmin, 0.25f, 1e-7);
    assert_float_equal(d.box.ymin, 0.0f, 1e-7);
    assert_float_equal(d.box.w, 0.5f, 1e-7);
    assert_float_equal(d.box.h, 0.5f, 1e-7);
    assert_float_equal(d.kp[0][1], 0.5f, 1e-7);
    assert_float_equal(d.kp[1][1], 1.0f, 1e-7);
}

static void detection_to_roi_upright(void **state)
{
    (void)state;
    lq_palm_detection d = det(0.4f, 0.4f, 0.2f, 0.2f, 0.9f, 0.0f);
    d.kp[0][0] = 0.5f, d.kp[0][1] = 0.6f; /* wrist below */
    d.kp[2][0] = 0.5f, d.kp[2][1] = 0.4f; /* middle finger MCP above */
    lq_hand_rect r;
    lq_palm_to_rect(&d, 100, 100, &r);
    assert_float_equal(r.rotation, 0.0f, 1e-6);
    assert_float_equal(r.cx, 0.5f, 1e-6);
    assert_float_equal(r.cy, 0.5f - 0.5f * 0.2f, 1e-6); /* shifted toward the fingers */
    assert_float_equal(r.w, 0.52f, 1e-6);
    assert_float_equal(r.h, 0.52f, 1e-6);
}

static void detection_to_roi_rotated_on_a_wide_frame(void **state)
{
    (void)state;
    /* 200x100 frame; a 20x20 px palm centred at (100,50) px, fingers to the right. */
    lq_palm_detection d = det(0.45f, 0.4f, 0.1f, 0.2f, 0.9f, 0.0f);
    d.kp[0][0] = 0.45f, d.kp[0][1] = 0.5f;
    d.kp[2][0] = 0.55f, d.kp[2][1] = 0.5f;
    lq_hand_rect r;
    lq_palm_to_rect(&d, 200, 100, &r);
    assert_float_equal(r.rotation, (float)M_PI / 2.0f, 1e-6); /* clockwise quarter turn */
    assert_float_equal(r.cx * 200.0f, 110.0f, 1e-3);          /* 0.5 x 20 px toward the fingers */
    assert_float_equal(r.cy * 100.0f, 50.0f, 1e-3);
    assert_float_equal(r.w * 200.0f, 52.0f, 1e-3); /* square in pixels */
    assert_float_equal(r.h * 100.0f, 52.0f, 1e-3);

    /* Tall box on a wide frame: square on the long side (in pixels). */
    d = det(0.45f, 0.3f, 0.1f, 0.4f, 0.9f, 0.0f); /* 20 x 40 px */
    d.kp[0][0] = 0.5f, d.kp[0][1] = 0.7f;
    d.kp[2][0] = 0.5f, d.kp[2][1] = 0.3f;
    lq_palm_to_rect(&d, 200, 100, &r);
    assert_float_equal(r.w * 200.0f, 40.0f * 2.6f, 1e-3);
    assert_float_equal(r.h * 100.0f, 40.0f * 2.6f, 1e-3);
    assert_float_equal(r.cy * 100.0f, 50.0f - 20.0f, 1e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_boxes_keypoints_and_scores),
        cmocka_unit_test(weighted_nms_merges_overlaps),
        cmocka_unit_test(weighted_nms_is_not_transitive),
        cmocka_unit_test(letterbox_is_removed),
        cmocka_unit_test(detection_to_roi_upright),
        cmocka_unit_test(detection_to_roi_rotated_on_a_wide_frame),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
