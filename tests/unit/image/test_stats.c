/*
 * test_stats.c - src/image/stats.c: luma means, Laplacian variance on known
 * patterns, clipping, and that blur and darkness move the measures the way
 * the service's LOW_LIGHT / BLUR_DETECTED checks rely on, on a real frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <string.h>

#include "image/codec.h"
#include "image/resize.h"
#include "image/stats.h"
#include "lq_test.h"

static lq_image make_fill(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, w, h), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = lq_image_px(&img, x, y);
            p[0] = r, p[1] = g, p[2] = b;
        }
    return img;
}

static void flat_regions(void **state)
{
    (void)state;
    const uint8_t colours[][3] = {{0, 0, 0}, {255, 255, 255}, {255, 0, 0}, {0, 255, 0},
                                  {0, 0, 255}, {90, 60, 30}};
    const int lumas[] = {0, 255, 77, 149, 29, 66}; /* 0.299 R + 0.587 G + 0.114 B, rounded */
    for (int i = 0; i < 6; i++) {
        lq_image img = make_fill(12, 9, colours[i][0], colours[i][1], colours[i][2]);
        lq_luma_stats st;
        assert_int_equal(lq_luma_stats_image(&img, &st), 0);
        assert_int_equal(lq_luma(colours[i]), lumas[i]);
        assert_float_equal(st.mean, lumas[i], 1e-9);
        assert_float_equal(st.stddev, 0, 1e-9);
        assert_float_equal(st.laplacian_var, 0, 1e-9);
        assert_int_equal(st.count, 12 * 9);
        assert_int_equal(st.interior, 10 * 7);
        lq_image_free(&img);
    }
}

static void checkerboard_has_the_largest_laplacian(void **state)
{
    (void)state;
    lq_image img = make_fill(10, 10, 0, 0, 0);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++)
            if ((x + y) % 2)
                memset(lq_image_px(&img, x, y), 255, 3);
    lq_luma_stats st;
    assert_int_equal(lq_luma_stats_image(&img, &st), 0);
    assert_float_equal(st.mean, 127.5, 1e-9);
    assert_float_equal(st.stddev, 127.5, 1e-9);
    /* every interior Laplacian is +-1020, half each */
    assert_float_equal(st.laplacian_var, 1020.0 * 1020.0, 1e-6);
    /* a linear ramp has zero Laplacian but spread luma */
    lq_image ramp = make_fill(20, 5, 0, 0, 0);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 20; x++)
            memset(lq_image_px(&ramp, x, y), x * 10, 3);
    assert_int_equal(lq_luma_stats_image(&ramp, &st), 0);
    assert_float_equal(st.laplacian_var, 0, 1e-9);
    assert_true(st.stddev > 50);
    lq_image_free(&ramp);
    lq_image_free(&img);
}

static void clips_rectangles(void **state)
{
    (void)state;
    lq_image img = make_fill(30, 20, 10, 10, 10);
    for (int y = 0; y < 20; y++)
        for (int x = 15; x < 30; x++)
            memset(lq_image_px(&img, x, y), 200, 3);
    lq_luma_stats st, st2;
    lq_pixel_rect left = {0, 0, 15, 20};
    assert_int_equal(lq_luma_stats_rect(&img, left, &st), 0);
    assert_float_equal(st.mean, 10, 1e-9);
    lq_pixel_rect over = {20, -5, 100, 100}; /* clipped to x 20..29, y 0..19 */
    lq_pixel_rect inside = {20, 0, 10, 20};
    assert_int_equal(lq_luma_stats_rect(&img, over, &st), 0);
    assert_int_equal(lq_luma_stats_rect(&img, inside, &st2), 0);
    assert_float_equal(st.mean, 200, 1e-9);
    assert_int_equal(st.count, 200);
    assert_int_equal(st.count, st2.count);
    assert_int_equal(st.interior, 8 * 18);
    /* the edge between the halves: one column each side is measured */
    lq_pixel_rect edge = {13, 0, 4, 20};
    assert_int_equal(lq_luma_stats_rect(&img, edge, &st), 0);
    assert_true(st.laplacian_var > 1000);
    /* thin regions: no interior, no Laplacian, still a mean */
    lq_pixel_rect thin = {3, 3, 2, 10};
    assert_int_equal(lq_luma_stats_rect(&img, thin, &st), 0);
    assert_int_equal(st.interior, 0);
    assert_float_equal(st.laplacian_var, 0, 0);
    assert_int_equal(st.count, 20);
    /* misses and bad input */
    st.count = -1;
    lq_pixel_rect outside = {30, 0, 5, 5}, empty = {0, 0, 0, 5}, huge = {INT_MAX, INT_MAX,
                                                                           INT_MAX, INT_MAX};
    lq_pixel_rect neg = {INT_MIN, INT_MIN, INT_MAX, INT_MAX};
    assert_int_equal(lq_luma_stats_rect(&img, outside, &st), LQ_EINVAL);
    assert_int_equal(lq_luma_stats_rect(&img, empty, &st), LQ_EINVAL);
    assert_int_equal(lq_luma_stats_rect(&img, huge, &st), LQ_EINVAL);
    assert_int_equal(lq_luma_stats_rect(&img, neg, &st), LQ_EINVAL);
    assert_int_equal(st.count, -1);
    lq_image none = {0};
    assert_int_equal(lq_luma_stats_image(&none, &st), LQ_EINVAL);
    assert_int_equal(lq_luma_stats_image(NULL, &st), LQ_EINVAL);
    assert_int_equal(lq_luma_stats_rect(&img, left, NULL), LQ_EINVAL);
    lq_image_free(&img);
}

/* Blurring a real hand frame collapses the Laplacian variance, darkening it
 * scales the mean: the two signals the service thresholds. */
static void blur_and_darkness_on_a_real_frame(void **state)
{
    (void)state;
    lq_image frame;
    char err[128];
    if (lq_image_load(lq_test_data("hands/mpsamples_gesture_hand_thumb_up.jpg"), NULL, &frame,
                      err, sizeof err) != 0) {
        skip();
        return;
    }
    lq_pixel_rect mid = {frame.width / 4, frame.height / 4, frame.width / 2, frame.height / 2};
    lq_luma_stats sharp, blurred, dark;
    assert_int_equal(lq_luma_stats_rect(&frame, mid, &sharp), 0);
    /* blur: area-shrink by 6 and bilinear back up */
    lq_image small, soft;
    assert_int_equal(
        lq_image_resize(&frame, frame.width / 6, frame.height / 6, LQ_RESIZE_AREA, &small), 0);
    assert_int_equal(
        lq_image_resize(&small, frame.width, frame.height, LQ_RESIZE_BILINEAR, &soft), 0);
    assert_int_equal(lq_luma_stats_rect(&soft, mid, &blurred), 0);
    print_message("sharp: mean %.1f lapvar %.1f; blurred: mean %.1f lapvar %.1f\n", sharp.mean,
                  sharp.laplacian_var, blurred.mean, blurred.laplacian_var);
    assert_true(blurred.laplacian_var * 10 < sharp.laplacian_var);
    assert_float_equal(blurred.mean, sharp.mean, 3.0);
    /* darken to 20 % */
    for (int y = 0; y < frame.height; y++)
        for (int x = 0; x < frame.width * 3; x++) {
            uint8_t *p = lq_image_px(&frame, 0, y) + x;
            *p = (uint8_t)(*p / 5);
        }
    assert_int_equal(lq_luma_stats_rect(&frame, mid, &dark), 0);
    assert_float_equal(dark.mean, sharp.mean / 5, 1.5);
    lq_image_free(&soft);
    lq_image_free(&small);
    lq_image_free(&frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flat_regions),
        cmocka_unit_test(checkerboard_has_the_largest_laplacian),
        cmocka_unit_test(clips_rectangles),
        cmocka_unit_test(blur_and_darkness_on_a_real_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
