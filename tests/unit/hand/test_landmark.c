#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "hand/landmark.h"
#include "lq_test.h"

static void decode_upright_roi(void **state)
{
    (void)state;
    /* A 224 px square ROI centred at (320,240) on 640x480: model pixels map
     * 1:1 onto frame pixels around the centre. */
    const lq_hand_rect roi = {0.5f, 0.5f, 224.0f / 640.0f, 224.0f / 480.0f, 0.0f};
    float raw[63] = {0}, world[63] = {0};
    raw[0] = 112.0f, raw[1] = 112.0f, raw[2] = 0.0f; /* centre */
    raw[3] = 0.0f, raw[4] = 0.0f, raw[5] = 22.4f;    /* top-left corner */
    raw[6] = 224.0f, raw[7] = 56.0f, raw[8] = -11.2f;
    world[0] = 0.01f, world[1] = -0.02f, world[2] = 0.03f;
    lq_hand h;
    memset(&h, 0, sizeof h);
    h.track_id = 7;
    lq_landmark_decode(raw, world, 0.9f, 0.8f, &roi, 640, 480, &h);
    assert_float_equal(h.lm[0].x, 320.0f, 1e-3);
    assert_float_equal(h.lm[0].y, 240.0f, 1e-3);
    assert_float_equal(h.lm[1].x, 208.0f, 1e-3);
    assert_float_equal(h.lm[1].y, 128.0f, 1e-3);
    /* z: raw / 224 / 0.4 of the ROI width, in pixels. */
    assert_float_equal(h.lm[1].z, 22.4f / 224.0f / 0.4f * 224.0f, 1e-3);
    assert_float_equal(h.lm[2].x, 432.0f, 1e-3);
    assert_float_equal(h.lm[2].y, 184.0f, 1e-3);
    assert_float_equal(h.lm[2].z, -28.0f, 1e-3);
    assert_float_equal(h.world[0].x, 0.01f, 1e-7);
    assert_float_equal(h.world[0].y, -0.02f, 1e-7);
    assert_float_equal(h.world[0].z, 0.03f, 1e-7);
    assert_float_equal(h.presence, 0.9f, 0);
    assert_int_equal(h.handedness, LQ_HAND_LEFT);
    assert_float_equal(h.handedness_score, 0.8f, 0);
    assert_int_equal(h.track_id, 7); /* untouched */
    assert_float_equal(h.roi.cx, roi.cx, 0);

    lq_landmark_decode(raw, world, 0.9f, 0.3f, &roi, 640, 480, &h);
    assert_int_equal(h.handedness, LQ_HAND_RIGHT);
    assert_float_equal(h.handedness_score, 0.7f, 1e-6);
}

static void decode_rotated_roi(void **state)
{
    (void)state;
    /* Rotated a quarter turn clockwise: the crop's x axis runs down the frame,
     * its y axis to the left (lq_affine_roi's convention). */
    const float s = 100.0f;
    const lq_hand_rect roi = {0.5f, 0.5f, s / 400.0f, s / 200.0f, (float)M_PI / 2.0f};
    float raw[63] = {0}, world[63] = {0};
    raw[0] = 224.0f, raw[1] = 112.0f; /* right edge, middle */
    raw[3] = 112.0f, raw[4] = 0.0f;   /* top edge, middle */
    world[0] = 1.0f;
    world[4] = 1.0f;
    lq_hand h;
    lq_landmark_decode(raw, world, 1.0f, 0.5f, &roi, 400, 200, &h);
    assert_float_equal(h.lm[0].x, 200.0f, 1e-3);
    assert_float_equal(h.lm[0].y, 100.0f + s / 2.0f, 1e-3);
    assert_float_equal(h.lm[1].x, 200.0f + s / 2.0f, 1e-3);
    assert_float_equal(h.lm[1].y, 100.0f, 1e-3);
    /* World landmarks turn with the ROI: x -> down, y -> left. */
    assert_float_equal(h.world[0].x, 0.0f, 1e-6);
    assert_float_equal(h.world[0].y, 1.0f, 1e-6);
    assert_float_equal(h.world[1].x, -1.0f, 1e-6);
    assert_float_equal(h.world[1].y, 0.0f, 1e-6);
}

static void padded_roi_of_a_non_square_rect(void **state)
{
    (void)state;
    float cx, cy, w, h, px, py;
    const lq_hand_rect wide = {0.5f, 0.5f, 0.5f, 0.25f, 0.0f}; /* 200 x 100 px on 400x400 */
    lq_landmark_padded_roi(&wide, 400, 400, &cx, &cy, &w, &h, &px, &py);
    assert_float_equal(w, 200.0f, 1e-4);
    assert_float_equal(h, 200.0f, 1e-4);
    assert_float_equal(px, 0.0f, 0);
    assert_float_equal(py, 0.25f, 1e-6);
    /* A landmark at the top edge of the padded crop's content maps to the
     * top edge of the unpadded rect. */
    float raw[63] = {0}, world[63] = {0};
    raw[0] = 112.0f, raw[1] = 56.0f;
    lq_hand hh;
    lq_landmark_decode(raw, world, 1.0f, 0.5f, &wide, 400, 400, &hh);
    assert_float_equal(hh.lm[0].x, 200.0f, 1e-3);
    assert_float_equal(hh.lm[0].y, 150.0f, 1e-3);
}

/* The subset of landmarks the ROI calculator reads, on an upright hand. */
static void make_hand(lq_hand *h)
{
    memset(h, 0, sizeof *h);
    static const float pts[21][2] = {
        {100, 200}, {80, 180},  {70, 160}, {65, 140}, {60, 120}, /* wrist, thumb */
        {85, 110},  {85, 90},   {85, 70},  {85, 50},             /* index */
        {100, 105}, {100, 85},  {100, 65}, {100, 45},            /* middle */
        {115, 110}, {115, 90},  {115, 70}, {115, 50},            /* ring */
        {128, 120}, {130, 100}, {132, 85}, {134, 70},            /* pinky */
    };
    for (int i = 0; i < 21; i++) {
        h->lm[i].x = pts[i][0];
        h->lm[i].y = pts[i][1];
    }
}

static void next_roi_from_upright_landmarks(void **state)
{
    (void)state;
    lq_hand h;
    make_hand(&h);
    lq_hand_rect r;
    lq_landmarks_to_rect(&h, 400, 300, &r);
    /* Rotation: wrist (100,200) to ((85+115)/2 + 100)/2, ((110+110)/2 + 105)/2)
     * = (100, 107.5): straight up. Extent of the subset (tips excluded):
     * x 65..130, y 85..200 -> centre (97.5, 142.5), 65 x 115 px; shift up by
     * 0.1 x 115, square on 115, scale 2. */
    assert_float_equal(r.rotation, 0.0f, 1e-6);
    assert_float_equal(r.cx * 400.0f, 97.5f, 1e-3);
    assert_float_equal(r.cy * 300.0f, 142.5f - 11.5f, 1e-3);
    assert_float_equal(r.w * 400.0f, 230.0f, 1e-3);
    assert_float_equal(r.h * 300.0f, 230.0f, 1e-3);
}

static void next_roi_turns_with_the_hand(void **state)
{
    (void)state;
    /* The same hand turned a quarter clockwise about (200,150): fingers point right. */
    lq_hand h;
    make_hand(&h);
    for (int i = 0; i < 21; i++) {
        const float dx = h.lm[i].x - 200.0f, dy = h.lm[i].y - 150.0f;
        h.lm[i].x = 200.0f - dy;
        h.lm[i].y = 150.0f + dx;
    }
    lq_hand_rect r;
    lq_landmarks_to_rect(&h, 400, 300, &r);
    assert_float_equal(r.rotation, (float)M_PI / 2.0f, 1e-5);
    /* Centre (97.5,131) turned: (200 - (131-150), 150 + (97.5-200)). */
    assert_float_equal(r.cx * 400.0f, 219.0f, 1e-2);
    assert_float_equal(r.cy * 300.0f, 47.5f, 1e-2);
    assert_float_equal(r.w * 400.0f, 230.0f, 1e-2);
    assert_float_equal(r.h * 300.0f, 230.0f, 1e-2);
}

static void decode_then_roi_round_trip(void **state)
{
    (void)state;
    /* Landmarks decoded through an ROI and turned back into an ROI land on
     * the same rotation whatever the ROI's own rotation. */
    lq_hand ref;
    make_hand(&ref);
    for (int k = -3; k <= 3; k++) {
        const float rot = 0.5f * (float)k;
        const lq_hand_rect roi = {0.5f, 0.5f, 0.6f, 0.8f, rot}; /* 240 px on 400x300 */
        float raw[63], world[63] = {0};
        /* Inverse of the decode: frame pixels -> model pixels. */
        const float c = cosf(rot), s = sinf(rot);
        for (int i = 0; i < 21; i++) {
            const float dx = ref.lm[i].x - 200.0f, dy = ref.lm[i].y - 150.0f;
            raw[3 * i] = (c * dx + s * dy) / 240.0f * 224.0f + 112.0f;
            raw[3 * i + 1] = (-s * dx + c * dy) / 240.0f * 224.0f + 112.0f;
            raw[3 * i + 2] = 0.0f;
        }
        lq_hand h;
        lq_landmark_decode(raw, world, 1.0f, 0.5f, &roi, 400, 300, &h);
        for (int i = 0; i < 21; i++) {
            assert_float_equal(h.lm[i].x, ref.lm[i].x, 2e-3);
            assert_float_equal(h.lm[i].y, ref.lm[i].y, 2e-3);
        }
        lq_hand_rect r;
        lq_landmarks_to_rect(&h, 400, 300, &r);
        assert_float_equal(r.rotation, 0.0f, 1e-4);
    }
}

static void duplicates_are_recognised(void **state)
{
    (void)state;
    lq_hand a, b;
    make_hand(&a);
    b = a;
    assert_true(lq_hands_duplicate(&a, &b));
    /* Baseline: wrist (100,200) to index MCP (85,110) ~ 91 px; 0.2 of it ~ 18 px. */
    for (int i = 0; i < 21; i++)
        b.lm[i].x += 12.0f;
    assert_true(lq_hands_duplicate(&a, &b));
    b = a;
    for (int i = 0; i < 21; i++)
        b.lm[i].x += 25.0f; /* every landmark too far */
    assert_false(lq_hands_duplicate(&a, &b));
    b = a;
    for (int i = 0; i < 21; i++)
        b.lm[i].x += 200.0f; /* another hand beside it */
    assert_false(lq_hands_duplicate(&a, &b));
    /* Only 9 of 21 landmarks agree: not a duplicate; 10 are enough. */
    b = a;
    for (int i = 0; i < 12; i++)
        b.lm[i].y += 60.0f;
    assert_false(lq_hands_duplicate(&a, &b));
    b = a;
    for (int i = 0; i < 11; i++)
        b.lm[i].y += 60.0f;
    assert_true(lq_hands_duplicate(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_upright_roi),
        cmocka_unit_test(decode_rotated_roi),
        cmocka_unit_test(padded_roi_of_a_non_square_rect),
        cmocka_unit_test(next_roi_from_upright_landmarks),
        cmocka_unit_test(next_roi_turns_with_the_hand),
        cmocka_unit_test(decode_then_roi_round_trip),
        cmocka_unit_test(duplicates_are_recognised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
