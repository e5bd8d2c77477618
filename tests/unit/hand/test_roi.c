#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "hand/roi.h"
#include "lq_test.h"

static void radians_wrap_into_minus_pi_pi(void **state)
{
    (void)state;
    const float pi = (float)M_PI;
    assert_float_equal(lq_normalize_radians(0.0f), 0.0f, 1e-7);
    assert_float_equal(lq_normalize_radians(1.5f * pi), -0.5f * pi, 1e-6);
    assert_float_equal(lq_normalize_radians(-1.5f * pi), 0.5f * pi, 1e-6);
    /* (float)M_PI is a hair above pi and -(float)M_PI a hair below -pi, so
     * they wrap to opposite ends, as in MediaPipe (float angle, double pi). */
    assert_float_equal(lq_normalize_radians(pi), -pi, 1e-6);
    assert_float_equal(lq_normalize_radians(-pi), pi, 1e-6);
    assert_float_equal(lq_normalize_radians(-3.14159f), -3.14159f, 1e-6);
    assert_float_equal(lq_normalize_radians(5.0f * pi + 0.25f), -pi + 0.25f, 1e-5);
}

static void rotation_makes_the_vector_point_up(void **state)
{
    (void)state;
    const float pi = (float)M_PI;
    assert_float_equal(lq_rotation_to_upright(0, 0, 0, -10), 0.0f, 1e-6);       /* already up */
    assert_float_equal(lq_rotation_to_upright(0, 0, 10, 0), 0.5f * pi, 1e-6);   /* right */
    assert_float_equal(lq_rotation_to_upright(0, 0, -10, 0), -0.5f * pi, 1e-6); /* left */
    assert_float_equal(fabsf(lq_rotation_to_upright(0, 0, 0, 10)), pi, 1e-6);   /* down */
    assert_float_equal(lq_rotation_to_upright(0, 0, 10, -10), 0.25f * pi, 1e-6);
}

static void transform_unrotated(void **state)
{
    (void)state;
    lq_hand_rect r = {0.5f, 0.5f, 0.2f, 0.1f, 0.0f};
    lq_rect_transform_opts t = {
        .scale_x = 2.0f, .scale_y = 3.0f, .shift_x = 0.5f, .shift_y = -0.1f};
    lq_rect_transform(&r, 100, 100, &t);
    assert_float_equal(r.cx, 0.5f + 0.1f, 1e-6);
    assert_float_equal(r.cy, 0.5f - 0.01f, 1e-6);
    assert_float_equal(r.w, 0.4f, 1e-6);
    assert_float_equal(r.h, 0.3f, 1e-6);
    assert_float_equal(r.rotation, 0.0f, 0);
}

static void transform_square_long_in_pixels(void **state)
{
    (void)state;
    /* 640x480 frame, a 64 x 96 px rect -> 96 x 96 px, then x2. */
    lq_hand_rect r = {0.5f, 0.5f, 0.1f, 0.2f, 0.0f};
    lq_rect_transform_opts t = {.scale_x = 2.0f, .scale_y = 2.0f, .square_long = 1};
    lq_rect_transform(&r, 640, 480, &t);
    assert_float_equal(r.w * 640.0f, 192.0f, 1e-3);
    assert_float_equal(r.h * 480.0f, 192.0f, 1e-3);
}

static void transform_shift_follows_rotation(void **state)
{
    (void)state;
    /* Rotated a quarter turn clockwise: the rect's "up" is screen right, so a
     * negative shift_y moves the centre right by that fraction of its height
     * (in pixels, on a non-square frame). */
    lq_hand_rect r = {0.5f, 0.5f, 0.1f, 0.2f, (float)M_PI / 2.0f}; /* 20x20 px on 200x100 */
    lq_rect_transform_opts t = {.scale_x = 1.0f, .scale_y = 1.0f, .shift_y = -0.5f};
    lq_rect_transform(&r, 200, 100, &t);
    assert_float_equal(r.cx * 200.0f, 110.0f, 1e-3);
    assert_float_equal(r.cy * 100.0f, 50.0f, 1e-3);
    /* shift_x moves along the rotated x axis: screen down. */
    r = (lq_hand_rect){0.5f, 0.5f, 0.1f, 0.2f, (float)M_PI / 2.0f};
    t = (lq_rect_transform_opts){.scale_x = 1.0f, .scale_y = 1.0f, .shift_x = 0.5f};
    lq_rect_transform(&r, 200, 100, &t);
    assert_float_equal(r.cx * 200.0f, 100.0f, 1e-3);
    assert_float_equal(r.cy * 100.0f, 60.0f, 1e-3);
}

static void iou_cases(void **state)
{
    (void)state;
    lq_box a = {0.0f, 0.0f, 1.0f, 1.0f};
    lq_box b = {0.5f, 0.0f, 1.0f, 1.0f};
    lq_box c = {2.0f, 2.0f, 1.0f, 1.0f};
    lq_box d = {1.0f, 0.0f, 1.0f, 1.0f}; /* touching a */
    assert_float_equal(lq_box_iou(&a, &a), 1.0f, 1e-7);
    assert_float_equal(lq_box_iou(&a, &b), 1.0f / 3.0f, 1e-6);
    assert_float_equal(lq_box_iou(&b, &a), 1.0f / 3.0f, 1e-6);
    assert_float_equal(lq_box_iou(&a, &c), 0.0f, 0);
    assert_float_equal(lq_box_iou(&a, &d), 0.0f, 0);
    lq_box z = {0.5f, 0.5f, 0.0f, 0.0f};
    assert_float_equal(lq_box_iou(&z, &z), 0.0f, 0); /* no area: no overlap */

    lq_hand_rect ra = {0.5f, 0.5f, 1.0f, 1.0f, 0.3f}; /* rotation ignored */
    lq_hand_rect rb = {1.0f, 0.5f, 1.0f, 1.0f, -1.0f};
    assert_float_equal(lq_rect_iou(&ra, &rb), 1.0f / 3.0f, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(radians_wrap_into_minus_pi_pi),
        cmocka_unit_test(rotation_makes_the_vector_point_up),
        cmocka_unit_test(transform_unrotated),
        cmocka_unit_test(transform_square_long_in_pixels),
        cmocka_unit_test(transform_shift_follows_rotation),
        cmocka_unit_test(iou_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
