/*
 * test_resize.c - src/image/resize.c: exact area means, constant and mean
 * preservation, anti-aliasing, bilinear, fitting sizes, thumbnails of a real
 * photo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec.h"
#include "image/resize.h"
#include "lq_test.h"

static lq_image make_noise(int w, int h, uint32_t seed)
{
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, w, h), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w * 3; x++) {
            seed = seed * 1664525u + 1013904223u;
            lq_image_px(&img, 0, y)[x] = (uint8_t)(seed >> 24);
        }
    return img;
}

static double channel_mean(const lq_image *img, int c)
{
    double s = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            s += lq_image_px(img, x, y)[c];
    return s / ((double)img->width * img->height);
}

static void area_halving_is_the_2x2_mean(void **state)
{
    (void)state;
    lq_image src = make_noise(40, 30, 1), dst;
    assert_int_equal(lq_image_resize(&src, 20, 15, LQ_RESIZE_AREA, &dst), 0);
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 20; x++)
            for (int c = 0; c < 3; c++) {
                int s = lq_image_px(&src, 2 * x, 2 * y)[c] + lq_image_px(&src, 2 * x + 1, 2 * y)[c] +
                        lq_image_px(&src, 2 * x, 2 * y + 1)[c] +
                        lq_image_px(&src, 2 * x + 1, 2 * y + 1)[c];
                int got = lq_image_px(&dst, x, y)[c];
                /* s/4 rounded; float sums may land either side of an exact .5 */
                assert_true(abs(4 * got - s) <= 2);
            }
    lq_image_free(&dst);
    lq_image_free(&src);
}

static void area_keeps_constants_and_the_mean(void **state)
{
    (void)state;
    lq_image flat;
    assert_int_equal(lq_image_alloc(&flat, 97, 61), 0);
    for (int y = 0; y < 61; y++)
        for (int x = 0; x < 97; x++) {
            uint8_t *p = lq_image_px(&flat, x, y);
            p[0] = 13, p[1] = 128, p[2] = 255;
        }
    const int sizes[][2] = {{30, 20}, {7, 5}, {1, 1}, {96, 60}, {150, 100}};
    for (int i = 0; i < 5; i++) {
        lq_image d;
        assert_int_equal(lq_image_resize(&flat, sizes[i][0], sizes[i][1], LQ_RESIZE_AREA, &d), 0);
        for (int y = 0; y < d.height; y++)
            for (int x = 0; x < d.width; x++) {
                const uint8_t *p = lq_image_px(&d, x, y);
                assert_int_equal(p[0], 13);
                assert_int_equal(p[1], 128);
                assert_int_equal(p[2], 255);
            }
        lq_image_free(&d);
    }
    lq_image_free(&flat);
    /* non-integer factors preserve the mean of a noisy image */
    lq_image src = make_noise(101, 77, 7), d;
    assert_int_equal(lq_image_resize(&src, 33, 29, LQ_RESIZE_AREA, &d), 0);
    for (int c = 0; c < 3; c++)
        assert_float_equal(channel_mean(&d, c), channel_mean(&src, c), 0.6);
    lq_image_free(&d);
    lq_image_free(&src);
}

static void area_does_not_alias_fine_stripes(void **state)
{
    (void)state;
    /* 1-pixel vertical stripes, shrunk by 3.5: area gives flat grey, while
     * point-ish sampling (bilinear at this ratio) keeps strong stripes */
    lq_image src;
    assert_int_equal(lq_image_alloc(&src, 140, 20), 0);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 140; x++)
            memset(lq_image_px(&src, x, y), x % 2 ? 255 : 0, 3);
    lq_image a, b;
    assert_int_equal(lq_image_resize(&src, 40, 20, LQ_RESIZE_AREA, &a), 0);
    assert_int_equal(lq_image_resize(&src, 40, 20, LQ_RESIZE_BILINEAR, &b), 0);
    int amin = 255, amax = 0, bmin = 255, bmax = 0;
    for (int x = 0; x < 40; x++) {
        int va = lq_image_px(&a, x, 10)[0], vb = lq_image_px(&b, x, 10)[0];
        amin = va < amin ? va : amin, amax = va > amax ? va : amax;
        bmin = vb < bmin ? vb : bmin, bmax = vb > bmax ? vb : bmax;
    }
    assert_true(amax - amin <= 40);  /* 3.5 px per output: 127.5 +- 1/7 of 255 */
    assert_true(amin >= 100 && amax <= 155);
    assert_true(bmax - bmin >= 120); /* aliasing */
    lq_image_free(&a);
    lq_image_free(&b);
    lq_image_free(&src);
}

static void bilinear_same_size_copies_and_upscales_smoothly(void **state)
{
    (void)state;
    lq_image src = make_noise(23, 17, 3), d;
    assert_int_equal(lq_image_resize(&src, 23, 17, LQ_RESIZE_BILINEAR, &d), 0);
    for (int y = 0; y < 17; y++)
        assert_memory_equal(lq_image_px(&d, 0, y), lq_image_px(&src, 0, y), 23 * 3);
    lq_image_free(&d);
    lq_image two;
    assert_int_equal(lq_image_alloc(&two, 2, 1), 0);
    memset(two.data, 0, 3);
    memset(two.data + 3, 200, 3);
    /* 2 -> 4 at pixel centres: 0, 50, 150, 200 (edges replicated) */
    assert_int_equal(lq_image_resize(&two, 4, 1, LQ_RESIZE_BILINEAR, &d), 0);
    assert_int_equal(lq_image_px(&d, 0, 0)[0], 0);
    assert_int_equal(lq_image_px(&d, 1, 0)[0], 50);
    assert_int_equal(lq_image_px(&d, 2, 0)[0], 150);
    assert_int_equal(lq_image_px(&d, 3, 0)[0], 200);
    lq_image_free(&d);
    /* area upscale: each output covers half a source pixel */
    assert_int_equal(lq_image_resize(&two, 4, 1, LQ_RESIZE_AREA, &d), 0);
    assert_int_equal(lq_image_px(&d, 1, 0)[0], 0);
    assert_int_equal(lq_image_px(&d, 2, 0)[0], 200);
    lq_image_free(&d);
    /* 2 -> 3 area: the middle output straddles both */
    assert_int_equal(lq_image_resize(&two, 3, 1, LQ_RESIZE_AREA, &d), 0);
    assert_int_equal(lq_image_px(&d, 1, 0)[0], 100);
    lq_image_free(&d);
    lq_image_free(&two);
    lq_image_free(&src);
}

static void fits_sizes(void **state)
{
    (void)state;
    int w, h;
    lq_image_fit_size(4000, 3000, 256, &w, &h);
    assert_int_equal(w, 256);
    assert_int_equal(h, 192);
    lq_image_fit_size(3000, 4000, 256, &w, &h);
    assert_int_equal(w, 192);
    assert_int_equal(h, 256);
    lq_image_fit_size(100, 50, 256, &w, &h);
    assert_int_equal(w, 100);
    assert_int_equal(h, 50);
    lq_image_fit_size(1000, 1, 10, &w, &h);
    assert_int_equal(w, 10);
    assert_int_equal(h, 1);
    lq_image_fit_size(1, 1000, 10, &w, &h);
    assert_int_equal(w, 1);
    assert_int_equal(h, 10);
    lq_image_fit_size(640, 480, 0, &w, &h);
    assert_int_equal(w, 1);
    assert_int_equal(h, 1);
    lq_image_fit_size(-5, 0, 10, &w, &h);
    assert_int_equal(w, 1);
    assert_int_equal(h, 1);
}

static void thumbnails_a_real_photo(void **state)
{
    (void)state;
    lq_image photo, thumb;
    char err[128];
    if (lq_image_load(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), NULL, &photo, err,
                      sizeof err) != 0) {
        skip();
        return;
    }
    assert_int_equal(lq_image_thumbnail(&photo, 160, &thumb), 0);
    assert_true(thumb.width == 160 || thumb.height == 160);
    assert_true(thumb.width <= 160 && thumb.height <= 160);
    for (int c = 0; c < 3; c++)
        assert_float_equal(channel_mean(&thumb, c), channel_mean(&photo, c), 1.5);
    lq_encoded e = {0};
    assert_int_equal(lq_image_encode(&thumb, LQ_FMT_PNG, 0, 3, &e), 0);
    assert_int_equal(lq_test_write_artifact("resize_thumbnail.png", e.data, e.len), 0);
    lq_encoded_free(&e);
    lq_image_free(&thumb);
    /* already small enough: a copy */
    assert_int_equal(lq_image_thumbnail(&photo, 100000, &thumb), 0);
    assert_int_equal(thumb.width, photo.width);
    assert_ptr_not_equal(thumb.data, photo.data);
    assert_memory_equal(thumb.data, photo.data, (size_t)photo.width * 3);
    lq_image_free(&thumb);
    lq_image_free(&photo);
}

static void refuses_bad_arguments(void **state)
{
    (void)state;
    lq_image src = make_noise(8, 8, 4), dst = {.width = -3};
    lq_image empty = {0};
    assert_int_equal(lq_image_resize(&empty, 4, 4, LQ_RESIZE_AREA, &dst), LQ_EINVAL);
    assert_int_equal(lq_image_resize(&src, 0, 4, LQ_RESIZE_AREA, &dst), LQ_EINVAL);
    assert_int_equal(lq_image_resize(&src, 4, INT_MAX, LQ_RESIZE_AREA, &dst), LQ_ELIMIT);
    assert_int_equal(lq_image_resize(&src, 4, 4, (lq_resize_filter)7, &dst), LQ_EINVAL);
    assert_int_equal(lq_image_resize(&src, 4, 4, LQ_RESIZE_AREA, NULL), LQ_EINVAL);
    assert_int_equal(dst.width, -3);
    assert_int_equal(lq_image_resize_into(&src, &src, LQ_RESIZE_AREA), LQ_EINVAL);
    assert_int_equal(lq_image_thumbnail(&empty, 10, &dst), LQ_EINVAL);
    assert_int_equal(dst.width, -3);
    lq_image_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(area_halving_is_the_2x2_mean),
        cmocka_unit_test(area_keeps_constants_and_the_mean),
        cmocka_unit_test(area_does_not_alias_fine_stripes),
        cmocka_unit_test(bilinear_same_size_copies_and_upscales_smoothly),
        cmocka_unit_test(fits_sizes),
        cmocka_unit_test(thumbnails_a_real_photo),
        cmocka_unit_test(refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
