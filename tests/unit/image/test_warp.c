/*
 * test_warp.c - src/image/warp.c: the pixel-centre convention, border modes,
 * letterbox and rotated-ROI maps, against an independent reference sampler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/codec.h"
#include "image/warp.h"
#include "lq_test.h"

static const double PI = 3.14159265358979323846;

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

/* Straight from the header's definition, in double: output pixel (x,y) is
 * evaluated at (x+0.5, y+0.5), mapped through M, and bilinearly sampled with
 * source pixel (i,j) centred at (i+0.5, j+0.5). */
static void reference_sample(const lq_image *src, const lq_affine *M, lq_border border, int x,
                             int y, double v[3])
{
    const float *m = M->m;
    double X = x + 0.5, Y = y + 0.5;
    double sx = (double)m[0] * X + (double)m[1] * Y + m[2] - 0.5;
    double sy = (double)m[3] * X + (double)m[4] * Y + m[5] - 0.5;
    double fx = floor(sx), fy = floor(sy);
    double ax = sx - fx, ay = sy - fy;
    v[0] = v[1] = v[2] = 0;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            double wgt = (i ? ax : 1 - ax) * (j ? ay : 1 - ay);
            double px = fx + i, py = fy + j;
            if (px < 0 || py < 0 || px >= src->width || py >= src->height) {
                if (border == LQ_BORDER_ZERO)
                    continue;
                px = px < 0 ? 0 : px >= src->width ? src->width - 1 : px;
                py = py < 0 ? 0 : py >= src->height ? src->height - 1 : py;
            }
            const uint8_t *p = lq_image_px(src, (int)px, (int)py);
            for (int c = 0; c < 3; c++)
                v[c] += wgt * p[c];
        }
}

/* Compares both warps with the reference over the whole output. */
static void check_against_reference(const lq_image *src, const lq_affine *M, int ow, int oh,
                                    lq_border border)
{
    const float scale = 2.0f / 255.0f, bias = -1.0f;
    float *t = malloc(sizeof(float) * 3 * (size_t)ow * (size_t)oh);
    assert_non_null(t);
    lq_warp_affine_to_tensor(src, M, ow, oh, scale, bias, border, t);
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, ow, oh), 0);
    lq_warp_affine_to_image(src, M, border, &img);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            double v[3];
            reference_sample(src, M, border, x, y, v);
            for (int c = 0; c < 3; c++) {
                double want = v[c] * scale + bias;
                double got = t[((size_t)y * ow + x) * 3 + c];
                /* float coordinates: a few 1e-5 px of position error */
                if (fabs(got - want) > 2e-3)
                    fail_msg("tensor (%d,%d,%d): %f, want %f", x, y, c, got, want);
                int b = lq_image_px(&img, x, y)[c];
                if (fabs(b - v[c]) > 0.51 + 0.2)
                    fail_msg("image (%d,%d,%d): %d, want %f", x, y, c, b, v[c]);
            }
        }
    lq_image_free(&img);
    free(t);
}

static void identity_reproduces_the_image(void **state)
{
    (void)state;
    lq_image src = make_noise(37, 23, 1);
    lq_affine id = {{1, 0, 0, 0, 1, 0}};
    float *t = malloc(sizeof(float) * 3 * 37 * 23);
    assert_non_null(t);
    for (int b = 0; b < 2; b++) {
        lq_warp_affine_to_tensor(&src, &id, 37, 23, 1.0f / 255.0f, 0.0f, (lq_border)b, t);
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 37 * 3; x++)
                assert_float_equal(t[y * 37 * 3 + x], lq_image_px(&src, 0, y)[x] / 255.0f,
                                   1e-7);
        lq_image out;
        assert_int_equal(lq_image_alloc(&out, 37, 23), 0);
        lq_warp_affine_to_image(&src, &id, (lq_border)b, &out);
        for (int y = 0; y < 23; y++)
            assert_memory_equal(lq_image_px(&out, 0, y), lq_image_px(&src, 0, y), 37 * 3);
        lq_image_free(&out);
    }
    free(t);
    lq_image_free(&src);
}

static void whole_pixel_translation_shifts(void **state)
{
    (void)state;
    lq_image src = make_noise(20, 15, 2);
    lq_affine M = {{1, 0, 3, 0, 1, -2}}; /* out(x,y) = src(x+3, y-2) */
    lq_image z, r;
    assert_int_equal(lq_image_alloc(&z, 20, 15), 0);
    assert_int_equal(lq_image_alloc(&r, 20, 15), 0);
    lq_warp_affine_to_image(&src, &M, LQ_BORDER_ZERO, &z);
    lq_warp_affine_to_image(&src, &M, LQ_BORDER_REPLICATE, &r);
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 20; x++) {
            int sx = x + 3, sy = y - 2;
            int inside = sx < 20 && sy >= 0;
            int cx = sx > 19 ? 19 : sx, cy = sy < 0 ? 0 : sy;
            for (int c = 0; c < 3; c++) {
                assert_int_equal(lq_image_px(&z, x, y)[c],
                                 inside ? lq_image_px(&src, sx, sy)[c] : 0);
                assert_int_equal(lq_image_px(&r, x, y)[c], lq_image_px(&src, cx, cy)[c]);
            }
        }
    lq_image_free(&z);
    lq_image_free(&r);
    lq_image_free(&src);
}

static void border_modes_at_half_pixels(void **state)
{
    (void)state;
    lq_image src;
    assert_int_equal(lq_image_alloc(&src, 2, 1), 0);
    uint8_t *p = src.data;
    p[0] = 100, p[1] = 50, p[2] = 10, p[3] = 200, p[4] = 150, p[5] = 30;
    /* shift by half a pixel left: output 0 samples at -0.5 (half outside),
     * output 1 between the two pixels, output 2 half past the right edge */
    lq_affine M = {{1, 0, -0.5f, 0, 1, 0}};
    float t[9];
    lq_warp_affine_to_tensor(&src, &M, 3, 1, 1.0f, 0.0f, LQ_BORDER_ZERO, t);
    assert_float_equal(t[0], 50.0f, 1e-4);
    assert_float_equal(t[3], 150.0f, 1e-4);
    assert_float_equal(t[6], 100.0f, 1e-4);
    assert_float_equal(t[8], 15.0f, 1e-4);
    lq_warp_affine_to_tensor(&src, &M, 3, 1, 1.0f, 0.0f, LQ_BORDER_REPLICATE, t);
    assert_float_equal(t[0], 100.0f, 1e-4);
    assert_float_equal(t[3], 150.0f, 1e-4);
    assert_float_equal(t[6], 200.0f, 1e-4);
    assert_float_equal(t[8], 30.0f, 1e-4);
    /* far outside: zero is the bias, replicate the edge; huge and NaN
     * coordinates are defined too */
    lq_affine far = {{1, 0, -1e9f, 0, 1, 1e9f}};
    lq_warp_affine_to_tensor(&src, &far, 3, 1, 0.5f, -1.0f, LQ_BORDER_ZERO, t);
    for (int i = 0; i < 9; i++)
        assert_float_equal(t[i], -1.0f, 0);
    lq_warp_affine_to_tensor(&src, &far, 3, 1, 1.0f, 0.0f, LQ_BORDER_REPLICATE, t);
    assert_float_equal(t[0], 100.0f, 0);
    lq_affine nan_map = {{NAN, 0, 0, 0, NAN, 0}};
    lq_warp_affine_to_tensor(&src, &nan_map, 3, 1, 1.0f, 0.0f, LQ_BORDER_REPLICATE, t);
    assert_float_equal(t[0], 100.0f, 0);
    lq_image_free(&src);
}

static void matches_the_reference_sampler(void **state)
{
    (void)state;
    lq_image src = make_noise(64, 48, 3);
    uint32_t seed = 99;
    for (int trial = 0; trial < 40; trial++) {
        seed = seed * 1664525u + 1013904223u;
        double ang = (seed >> 8) / 16777216.0 * 2 * PI;
        double s = 0.3 + 2.0 * ((seed >> 4) & 0xff) / 255.0;
        lq_affine M = lq_affine_roi(32 + (trial % 7) * 3 - 9, 24 - (trial % 5) * 4,
                                    (float)(64 * s), (float)(48 * s), (float)ang, 31, 27);
        check_against_reference(&src, &M, 31, 27, (lq_border)(trial & 1));
    }
    lq_image_free(&src);
}

/* Samples between the last two pixels of the last row: nothing may be read
 * past the buffer (ASan builds see that; the image is allocated exactly). */
static void reads_nothing_past_the_last_pixel(void **state)
{
    (void)state;
    lq_image src = make_noise(5, 4, 6);
    assert_int_equal(src.stride, 15);
    lq_affine M = {{1, 0, 3.5f, 0, 1, 2.5f}}; /* output 0 at (3.5, 2.5) in index units */
    check_against_reference(&src, &M, 3, 1, LQ_BORDER_ZERO);
    check_against_reference(&src, &M, 3, 1, LQ_BORDER_REPLICATE);
    lq_affine N = {{1, 0, 2.5f, 0, 1, 2.5f}};
    check_against_reference(&src, &N, 4, 2, LQ_BORDER_ZERO);
    lq_image_free(&src);
}

static void letterbox_fits_and_centres(void **state)
{
    (void)state;
    float px = -1, py = -1;
    lq_affine M = lq_affine_letterbox(640, 480, 192, &px, &py);
    assert_float_equal(px, 0.0f, 1e-7);
    assert_float_equal(py, 0.125f, 1e-7);
    float x, y;
    lq_affine_apply(&M, 96, 96, &x, &y); /* centre to centre */
    assert_float_equal(x, 320, 1e-3);
    assert_float_equal(y, 240, 1e-3);
    lq_affine_apply(&M, 0, 24, &x, &y); /* the content's corners */
    assert_float_equal(x, 0, 1e-3);
    assert_float_equal(y, 0, 1e-3);
    lq_affine_apply(&M, 192, 168, &x, &y);
    assert_float_equal(x, 640, 1e-3);
    assert_float_equal(y, 480, 1e-3);
    M = lq_affine_letterbox(480, 640, 256, &px, &py);
    assert_float_equal(px, 0.125f, 1e-7);
    assert_float_equal(py, 0.0f, 1e-7);
    lq_affine_apply(&M, 32, 0, &x, &y);
    assert_float_equal(x, 0, 1e-3);
    assert_float_equal(y, 0, 1e-3);
    M = lq_affine_letterbox(300, 300, 150, &px, &py);
    assert_float_equal(px, 0, 0);
    assert_float_equal(py, 0, 0);
    assert_float_equal(M.m[0], 2.0f, 1e-6);
    M = lq_affine_letterbox(0, 480, 192, &px, &py); /* degenerate: identity, no pads */
    assert_float_equal(M.m[0], 1.0f, 0);
    assert_float_equal(py, 0, 0);

    /* the pad rows of the tensor read as border; the content rows do not */
    lq_image frame;
    assert_int_equal(lq_image_alloc(&frame, 640, 480), 0);
    memset(frame.data, 200, (size_t)frame.stride * 480);
    M = lq_affine_letterbox(640, 480, 192, &px, &py);
    float *t = malloc(sizeof(float) * 192 * 192 * 3);
    assert_non_null(t);
    lq_warp_affine_to_tensor(&frame, &M, 192, 192, 1.0f / 255.0f, 0.0f, LQ_BORDER_ZERO, t);
    for (int row = 0; row < 192; row++) {
        float v = t[(size_t)row * 192 * 3 + 96 * 3];
        if (row < 23 || row > 168)
            assert_float_equal(v, 0.0f, 0);
        else if (row > 24 && row < 167)
            assert_float_equal(v, 200.0f / 255.0f, 1e-5);
    }
    free(t);
    lq_image_free(&frame);
}

/* MediaPipe's GetRotatedSubRectToRectTransformMatrix, written out in its
 * normalised form (output [0,1]^2 to input [0,1]^2), first two rows. */
static void mediapipe_matrix(double cx, double cy, double w, double h, double r, double img_w,
                             double img_h, double m[8])
{
    double a = w, b = h, c = cos(r), d = sin(r), g = 1 / img_w, hh = 1 / img_h;
    m[0] = a * c * g, m[1] = -b * d * g, m[2] = 0, m[3] = (-0.5 * a * c + 0.5 * b * d + cx) * g;
    m[4] = a * d * hh, m[5] = b * c * hh, m[6] = 0, m[7] = (-0.5 * b * c - 0.5 * a * d + cy) * hh;
}

static void roi_matches_mediapipe(void **state)
{
    (void)state;
    const double img_w = 640, img_h = 480;
    const double rects[][5] = {{320, 240, 200, 300, 0.0}, {100.5, 380, 150, 150, PI / 2},
                               {500, 90, 320, 180, -0.7}, {320, 240, 640, 640, 3.0}};
    for (int i = 0; i < 4; i++) {
        const double *r = rects[i];
        lq_affine M = lq_affine_roi((float)r[0], (float)r[1], (float)r[2], (float)r[3],
                                    (float)r[4], 224, 160);
        double mp[8];
        mediapipe_matrix(r[0], r[1], r[2], r[3], r[4], img_w, img_h, mp);
        for (double u = 0; u <= 1.0; u += 0.25)
            for (double v = 0; v <= 1.0; v += 0.25) {
                float x, y;
                lq_affine_apply(&M, (float)(u * 224), (float)(v * 160), &x, &y);
                double ex = (mp[0] * u + mp[1] * v + mp[3]) * img_w;
                double ey = (mp[4] * u + mp[5] * v + mp[7]) * img_h;
                assert_float_equal(x, ex, 1e-2);
                assert_float_equal(y, ey, 1e-2);
            }
    }
}

static void roi_rotated_90_is_a_transposed_flipped_crop(void **state)
{
    (void)state;
    lq_image src = make_noise(50, 40, 4);
    const int N = 16, cx = 25, cy = 20;
    lq_image out;
    assert_int_equal(lq_image_alloc(&out, N, N), 0);
    /* rotation 0: a plain crop */
    lq_affine M = lq_affine_roi(cx, cy, N, N, 0.0f, N, N);
    lq_warp_affine_to_image(&src, &M, LQ_BORDER_ZERO, &out);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            assert_memory_equal(lq_image_px(&out, x, y),
                                lq_image_px(&src, cx - N / 2 + x, cy - N / 2 + y), 3);
    /* rotation 90 degrees: the output's x runs down the source, its y runs
     * right to left: out(x, y) = src(cx + N/2 - 1 - y, cy - N/2 + x) */
    M = lq_affine_roi(cx, cy, N, N, (float)(PI / 2), N, N);
    lq_warp_affine_to_image(&src, &M, LQ_BORDER_ZERO, &out);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            assert_memory_equal(lq_image_px(&out, x, y),
                                lq_image_px(&src, cx + N / 2 - 1 - y, cy - N / 2 + x), 3);
    /* rotation 180: both axes reversed */
    M = lq_affine_roi(cx, cy, N, N, (float)PI, N, N);
    lq_warp_affine_to_image(&src, &M, LQ_BORDER_ZERO, &out);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            assert_memory_equal(lq_image_px(&out, x, y),
                                lq_image_px(&src, cx + N / 2 - 1 - x, cy + N / 2 - 1 - y), 3);
    /* the tensor path agrees with the image path */
    M = lq_affine_roi(cx, cy, N, N, (float)(PI / 2), N, N);
    float t[16 * 16 * 3];
    lq_warp_affine_to_tensor(&src, &M, N, N, 1.0f, 0.0f, LQ_BORDER_ZERO, t);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            assert_float_equal(t[(y * N + x) * 3 + 1],
                               lq_image_px(&src, cx + N / 2 - 1 - y, cy - N / 2 + x)[1], 1e-3);
    lq_image_free(&out);
    lq_image_free(&src);
}

static void inverts_and_applies(void **state)
{
    (void)state;
    lq_affine M = lq_affine_roi(300, 200, 180, 120, 0.6f, 224, 224), inv;
    assert_int_equal(lq_affine_invert(&M, &inv), 0);
    for (float x = -10; x < 250; x += 37)
        for (float y = -5; y < 240; y += 41) {
            float sx, sy, bx, by;
            lq_affine_apply(&M, x, y, &sx, &sy);
            lq_affine_apply(&inv, sx, sy, &bx, &by);
            assert_float_equal(bx, x, 1e-3);
            assert_float_equal(by, y, 1e-3);
        }
    lq_affine singular = {{1, 2, 3, 2, 4, 6}}, zero = {{0}}, nan_map = {{NAN, 0, 0, 0, 1, 0}};
    inv = (lq_affine){{9, 9, 9, 9, 9, 9}};
    assert_int_equal(lq_affine_invert(&singular, &inv), LQ_EINVAL);
    assert_int_equal(lq_affine_invert(&zero, &inv), LQ_EINVAL);
    assert_int_equal(lq_affine_invert(&nan_map, &inv), LQ_EINVAL);
    assert_int_equal(lq_affine_invert(NULL, &inv), LQ_EINVAL);
    assert_float_equal(inv.m[0], 9, 0); /* untouched on failure */
    /* tiny but regular maps (a 1000x zoom) still invert */
    lq_affine zoom = {{1e-3f, 0, 5, 0, 1e-3f, 7}};
    assert_int_equal(lq_affine_invert(&zoom, &inv), 0);
    assert_float_equal(inv.m[0], 1000, 1e-2);
    assert_float_equal(inv.m[2], -5000, 1e-1);
}

static void tolerates_bad_arguments(void **state)
{
    (void)state;
    lq_affine id = {{1, 0, 0, 0, 1, 0}};
    float t[12] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    lq_image empty = {0};
    lq_warp_affine_to_tensor(&empty, &id, 2, 2, 1.0f, -0.5f, LQ_BORDER_ZERO, t);
    for (int i = 0; i < 12; i++)
        assert_float_equal(t[i], -0.5f, 0);
    t[0] = 5;
    lq_warp_affine_to_tensor(&empty, &id, 0, 2, 1.0f, -0.5f, LQ_BORDER_ZERO, t);
    lq_warp_affine_to_tensor(&empty, NULL, 2, 2, 1.0f, -0.5f, LQ_BORDER_ZERO, t);
    assert_float_equal(t[0], 5, 0);
    lq_image out;
    assert_int_equal(lq_image_alloc(&out, 2, 2), 0);
    memset(out.data, 7, 12);
    lq_warp_affine_to_image(&empty, &id, LQ_BORDER_REPLICATE, &out);
    for (int i = 0; i < 12; i++)
        assert_int_equal(out.data[i], 0);
    lq_image_free(&out);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Not a pass/fail timing (machines differ): prints the per-frame cost. */
static void reports_speed_on_a_frame(void **state)
{
    (void)state;
    lq_image frame;
    char err[128];
    if (lq_image_load(lq_test_data("video/palm_reach/0100.webp"), NULL, &frame, err,
                      sizeof err) != 0)
        frame = make_noise(640, 480, 5);
    float *t = malloc(sizeof(float) * 224 * 224 * 3);
    assert_non_null(t);
    const int sizes[] = {224, 192};
    for (int i = 0; i < 2; i++) {
        int n = sizes[i];
        lq_affine M[2] = {lq_affine_letterbox(640, 480, n, NULL, NULL),
                          lq_affine_roi(300, 260, 260, 260, 0.4f, n, n)};
        for (int k = 0; k < 2; k++) {
            double best = 1e9;
            for (int rep = 0; rep < 30; rep++) {
                double t0 = now_ms();
                lq_warp_affine_to_tensor(&frame, &M[k], n, n, 1.0f / 255.0f, 0.0f,
                                         LQ_BORDER_ZERO, t);
                double dt = now_ms() - t0;
                best = dt < best ? dt : best;
            }
            print_message("warp 640x480 -> %dx%d tensor (%s): %.3f ms\n", n, n,
                          k ? "rotated ROI" : "letterbox", best);
            assert_true(t[(n / 2 * n + n / 2) * 3] >= 0.0f);
        }
    }
    free(t);
    lq_image_free(&frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_reproduces_the_image),
        cmocka_unit_test(whole_pixel_translation_shifts),
        cmocka_unit_test(border_modes_at_half_pixels),
        cmocka_unit_test(matches_the_reference_sampler),
        cmocka_unit_test(reads_nothing_past_the_last_pixel),
        cmocka_unit_test(letterbox_fits_and_centres),
        cmocka_unit_test(roi_matches_mediapipe),
        cmocka_unit_test(roi_rotated_90_is_a_transposed_flipped_crop),
        cmocka_unit_test(inverts_and_applies),
        cmocka_unit_test(tolerates_bad_arguments),
        cmocka_unit_test(reports_speed_on_a_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
