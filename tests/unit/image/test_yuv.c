/*
 * test_yuv.c - src/image/yuv.c and the Y'CbCr paths of the codec
 * (lq_image_decode_ex, lq_image_encode_yuv): conversion against libwebp's own
 * RGB output on real frames, rectangle updates, edges and odd sizes, limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <webp/encode.h>

#include "image/codec.h"
#include "image/yuv.h"
#include "lq_test.h"

static void load_bytes(const char *rel, uint8_t **buf, size_t *len)
{
    *buf = lq_test_read_file(lq_test_data(rel), len);
    assert_non_null(*buf);
}

/* Largest and mean absolute difference over every RGB sample. */
static void rgb_diff(const lq_image *a, const lq_image *b, int *maxd, double *mean)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    long long sum = 0;
    *maxd = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < 3 * a->width; x++) {
            int d = abs(a->data[(size_t)y * a->stride + x] - b->data[(size_t)y * b->stride + x]);
            sum += d;
            *maxd = d > *maxd ? d : *maxd;
        }
    *mean = (double)sum / (3.0 * a->width * a->height);
}

/* lq_image_decode_ex keeps the planes of a lossy WebP, and its RGB is within
 * 1 of libwebp's own (lq_image_decode) on every sample of real frames,
 * landscape and portrait. */
static void lossy_webp_keeps_planes_and_matches_libwebp(void **s)
{
    (void)s;
    const char *frames[] = {"video/palm_reach/0100.webp", "video/asl_hand/0100.webp",
                            "video/thumb_ok/0050.webp"};
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        uint8_t *buf;
        size_t len;
        load_bytes(frames[i], &buf, &len);
        lq_image ref = {0}, got = {0};
        lq_yuv420 p;
        char err[256];
        assert_int_equal(lq_image_decode(buf, len, NULL, &ref, err, sizeof err), 0);
        assert_int_equal(lq_image_decode_ex(buf, len, NULL, &got, &p, err, sizeof err), 0);
        assert_int_equal(p.width, ref.width);
        assert_int_equal(p.height, ref.height);
        assert_int_equal(p.uv_stride, (ref.width + 1) / 2);
        int maxd;
        double mean;
        rgb_diff(&ref, &got, &maxd, &mean);
        printf("%s %dx%d: max |ours - libwebp| %d, mean %.4f\n", frames[i], ref.width,
               ref.height, maxd, mean);
        assert_true(maxd <= 1);
        assert_true(mean < 0.05);
        lq_image_free(&ref);
        lq_image_free(&got);
        lq_yuv420_free(&p);
        assert_null(p.buf);
        free(buf);
    }
}

/* A photo-like pattern of any size, encoded by our own codec. */
static lq_image pattern(int w, int h)
{
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, w, h), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *px = lq_image_px(&img, x, y);
            px[0] = (uint8_t)(40 + x * 170 / (w > 1 ? w - 1 : 1));
            px[1] = (uint8_t)(30 + y * 180 / (h > 1 ? h - 1 : 1));
            px[2] = (uint8_t)(((x / 5 + y / 3) & 1) ? 200 : 60);
        }
    return img;
}

/* Odd sizes (a half chroma block on the right and bottom), 1-pixel images
 * and 2x1: the same agreement with libwebp. */
static void odd_sizes_match_libwebp(void **s)
{
    (void)s;
    const int sizes[][2] = {{37, 23}, {1, 1}, {2, 1}, {1, 7}, {641, 481}, {16, 16}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        lq_image src = pattern(sizes[i][0], sizes[i][1]);
        lq_encoded enc = {0};
        assert_int_equal(lq_image_encode(&src, LQ_FMT_WEBP, 80, 0, &enc), 0);
        lq_image ref = {0}, got = {0};
        lq_yuv420 p;
        assert_int_equal(lq_image_decode(enc.data, enc.len, NULL, &ref, NULL, 0), 0);
        assert_int_equal(lq_image_decode_ex(enc.data, enc.len, NULL, &got, &p, NULL, 0), 0);
        assert_int_equal(p.width, sizes[i][0]);
        int maxd;
        double mean;
        rgb_diff(&ref, &got, &maxd, &mean);
        printf("%dx%d: max %d mean %.4f\n", sizes[i][0], sizes[i][1], maxd, mean);
        assert_true(maxd <= 1);
        lq_image_free(&src);
        lq_image_free(&ref);
        lq_image_free(&got);
        lq_yuv420_free(&p);
        lq_encoded_free(&enc);
    }
}

/* Lossy WebP with an alpha channel (VP8X + ALPH): the planes are kept, the
 * alpha is dropped as by the plain decoder, and the RGB agrees within 1. */
static void lossy_webp_with_alpha(void **s)
{
    (void)s;
    const int w = 45, h = 31;
    uint8_t *rgba = malloc((size_t)w * h * 4);
    assert_non_null(rgba);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgba + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(x * 5);
            p[1] = (uint8_t)(y * 8);
            p[2] = (uint8_t)(((x + y) & 4) ? 220 : 40);
            p[3] = (uint8_t)(x < w / 2 ? 255 : 90);
        }
    uint8_t *out = NULL;
    size_t len = WebPEncodeRGBA(rgba, w, h, w * 4, 85.0f, &out);
    assert_true(len > 0);
    lq_image ref = {0}, got = {0};
    lq_yuv420 p;
    assert_int_equal(lq_image_decode(out, len, NULL, &ref, NULL, 0), 0);
    assert_int_equal(lq_image_decode_ex(out, len, NULL, &got, &p, NULL, 0), 0);
    assert_int_equal(p.width, w);
    assert_int_equal(p.height, h);
    int maxd;
    double mean;
    rgb_diff(&ref, &got, &maxd, &mean);
    printf("lossy + alpha %dx%d: max %d mean %.4f\n", w, h, maxd, mean);
    assert_true(maxd <= 1);
    lq_image_free(&ref);
    lq_image_free(&got);
    lq_yuv420_free(&p);
    WebPFree(out);
    free(rgba);
}

/* Inputs without 4:2:0 planes of their own (PNG, JPEG, lossless WebP) decode
 * as before with *yuv zeroed; a corrupt lossy WebP is an error and leaves
 * *yuv zeroed; a NULL yuv is the plain decoder. */
static void other_inputs_give_no_planes(void **s)
{
    (void)s;
    lq_image src = pattern(64, 48);
    const lq_encode_opts opts[] = {
        {LQ_FMT_PNG, 0, 1, 0}, {LQ_FMT_JPEG, 90, 0, 0}, {LQ_FMT_WEBP, 90, 0, 1}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        lq_encoded enc = {0};
        assert_int_equal(lq_image_encode_opts(&src, &opts[i], &enc), 0);
        lq_image a = {0}, b = {0};
        lq_yuv420 p;
        memset(&p, 0xab, sizeof p);
        assert_int_equal(lq_image_decode(enc.data, enc.len, NULL, &a, NULL, 0), 0);
        assert_int_equal(lq_image_decode_ex(enc.data, enc.len, NULL, &b, &p, NULL, 0), 0);
        assert_int_equal(p.width, 0);
        assert_null(p.buf);
        assert_memory_equal(a.data, b.data, (size_t)a.stride * a.height);
        lq_image_free(&a);
        lq_image_free(&b);
        lq_encoded_free(&enc);
    }
    /* corrupt: a real frame cut in half */
    uint8_t *buf;
    size_t len;
    load_bytes("video/palm_reach/0100.webp", &buf, &len);
    lq_image img = {0};
    lq_yuv420 p;
    char err[256] = "";
    assert_int_equal(lq_image_decode_ex(buf, len / 2, NULL, &img, &p, err, sizeof err), LQ_EFORMAT);
    assert_null(img.data);
    assert_int_equal(p.width, 0);
    assert_non_null(strstr(err, "WebP"));
    /* limits apply before anything is allocated */
    lq_decode_limits lim = {100, 100, 10000, 1 << 20};
    assert_int_equal(lq_image_decode_ex(buf, len, &lim, &img, &p, err, sizeof err), LQ_ELIMIT);
    assert_int_equal(p.width, 0);
    /* no yuv wanted */
    assert_int_equal(lq_image_decode_ex(buf, len, NULL, &img, NULL, NULL, 0), 0);
    lq_image_free(&img);
    free(buf);
    lq_image_free(&src);
}

/* Painting a box and updating it: the planes change only within the box
 * grown to even edges, and there they hold the colour painted. */
static void update_rect_changes_only_the_box(void **s)
{
    (void)s;
    uint8_t *buf;
    size_t len;
    load_bytes("video/palm_reach/0100.webp", &buf, &len);
    lq_image rgb = {0};
    lq_yuv420 p;
    assert_int_equal(lq_image_decode_ex(buf, len, NULL, &rgb, &p, NULL, 0), 0);
    const size_t cw = (size_t)p.uv_stride, ch = (size_t)(p.height + 1) / 2;
    const size_t total = (size_t)p.width * p.height + 2 * cw * ch;
    uint8_t *before = malloc(total);
    assert_non_null(before);
    memcpy(before, p.buf, total);
    const lq_pixel_rect r = {101, 51, 30, 19}; /* odd edges: grows to [100,132) x [50,70) */
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) {
            uint8_t *px = lq_image_px(&rgb, x, y);
            px[0] = 255;
            px[1] = 0;
            px[2] = 0;
        }
    lq_yuv420_update_rect(&p, &rgb, &r);
    for (int y = 0; y < p.height; y++)
        for (int x = 0; x < p.width; x++) {
            const int in = x >= 100 && x < 132 && y >= 50 && y < 70;
            const uint8_t now = p.y[(size_t)y * p.y_stride + x];
            if (!in)
                assert_int_equal(now, before[(size_t)y * p.width + x]);
            else if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)
                assert_true(abs(now - 82) <= 1); /* BT.601 limited: red is Y' 81.5 */
        }
    for (size_t j = 0; j < ch; j++)
        for (size_t i = 0; i < cw; i++) {
            const int in = i >= 50 && i < 66 && j >= 25 && j < 35;
            const uint8_t u = p.u[j * cw + i], v = p.v[j * cw + i];
            const size_t at = (size_t)p.width * p.height + j * cw + i;
            if (!in) {
                assert_int_equal(u, before[at]);
                assert_int_equal(v, before[at + cw * ch]);
            } else if (i >= 51 && i < 65 && j >= 26 && j < 35) {
                /* whole blocks of red: Cb 90.2, Cr 240 */
                assert_true(abs(u - 90) <= 1);
                assert_true(abs(v - 240) <= 1);
            }
        }
    free(before);
    lq_yuv420_free(&p);
    lq_image_free(&rgb);
    free(buf);
}

/* Rectangles partly or wholly outside, empty, negative or enormous are
 * clipped or ignored; the last odd column and row are reachable; a size
 * mismatch changes nothing. */
static void update_rect_clips(void **s)
{
    (void)s;
    lq_image src = pattern(37, 23);
    lq_yuv420 p;
    assert_int_equal(lq_yuv420_alloc(&p, 37, 23), 0);
    const size_t total = 37 * 23 + 2 * 19 * 12;
    memset(p.buf, 7, total);
    const lq_pixel_rect none[] = {{0, 0, 0, 5}, {0, 0, 5, -1}, {37, 0, 5, 5}, {0, 23, 5, 5},
                                  {-10, -10, 10, 10}, {INT_MIN, INT_MIN, 5, 5}};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        lq_yuv420_update_rect(&p, &src, &none[i]);
    for (size_t i = 0; i < total; i++)
        assert_int_equal(p.buf[i], 7);
    lq_image other = pattern(36, 23);
    const lq_pixel_rect all = {0, 0, 37, 23};
    lq_yuv420_update_rect(&p, &other, &all); /* size mismatch */
    lq_yuv420_update_rect(NULL, &src, &all);
    lq_yuv420_update_rect(&p, NULL, &all);
    lq_yuv420_update_rect(&p, &src, NULL);
    for (size_t i = 0; i < total; i++)
        assert_int_equal(p.buf[i], 7);
    const lq_pixel_rect corner = {36, 22, INT_MAX, INT_MAX}; /* the last pixel only */
    lq_yuv420_update_rect(&p, &src, &corner);
    assert_int_not_equal(p.y[22 * 37 + 36], 7);
    assert_int_not_equal(p.u[11 * 19 + 18], 7);
    assert_int_equal(p.y[22 * 37 + 35], 7); /* the box starts at x 36, already even */
    lq_yuv420_update_rect(&p, &src, &all);
    for (size_t i = 0; i < total; i++)
        if (p.buf[i] == 7)
            fail_msg("sample %zu not updated by a whole-frame rect", i);
    lq_image_free(&other);
    lq_image_free(&src);
    lq_yuv420_free(&p);
}

/* Whole frame RGB -> planes -> RGB: luma within 1, chroma close (it is
 * blurred once by the upsample/average pair, as any 4:2:0 round trip). */
static void whole_frame_round_trip(void **s)
{
    (void)s;
    uint8_t *buf;
    size_t len;
    load_bytes("video/palm_reach/0100.webp", &buf, &len);
    lq_image rgb = {0}, back = {0};
    lq_yuv420 p;
    assert_int_equal(lq_image_decode_ex(buf, len, NULL, &rgb, &p, NULL, 0), 0);
    const size_t n = (size_t)p.width * p.height;
    uint8_t *y0 = malloc(n);
    assert_non_null(y0);
    memcpy(y0, p.y, n);
    const lq_pixel_rect all = {0, 0, p.width, p.height};
    lq_yuv420_update_rect(&p, &rgb, &all);
    int maxy = 0;
    for (size_t i = 0; i < n; i++)
        maxy = abs(p.y[i] - y0[i]) > maxy ? abs(p.y[i] - y0[i]) : maxy;
    assert_int_equal(lq_image_alloc(&back, rgb.width, rgb.height), 0);
    assert_int_equal(lq_yuv420_to_rgb(&p, &back), 0);
    int maxd;
    double mean;
    rgb_diff(&rgb, &back, &maxd, &mean);
    printf("round trip: luma max %d; RGB max %d mean %.3f\n", maxy, maxd, mean);
    assert_true(maxy <= 1);
    assert_true(mean < 1.0);
    free(y0);
    lq_image_free(&rgb);
    lq_image_free(&back);
    lq_yuv420_free(&p);
    free(buf);
}

/* The encoder reads the planes and leaves them as they were; its output is
 * the frame (PSNR against the decoded input) and the same size class as an
 * RGB encode; bad arguments are refused. */
static void encode_yuv(void **s)
{
    (void)s;
    uint8_t *buf;
    size_t len;
    load_bytes("video/palm_reach/0100.webp", &buf, &len);
    lq_image rgb = {0}, out = {0};
    lq_yuv420 p;
    assert_int_equal(lq_image_decode_ex(buf, len, NULL, &rgb, &p, NULL, 0), 0);
    const size_t total = (size_t)p.width * p.height + 2 * (size_t)p.uv_stride * ((p.height + 1) / 2);
    uint8_t *copy = malloc(total);
    assert_non_null(copy);
    memcpy(copy, p.buf, total);
    lq_encoded a = {0}, b = {0};
    assert_int_equal(lq_image_encode_yuv(&p, 75, 0, &a), 0);
    assert_memory_equal(copy, p.buf, total);
    assert_int_equal(lq_image_encode(&rgb, LQ_FMT_WEBP, 75, 0, &b), 0);
    assert_int_equal(lq_image_decode(a.data, a.len, NULL, &out, NULL, 0), 0);
    assert_int_equal(out.width, rgb.width);
    double se = 0;
    for (int y = 0; y < rgb.height; y++)
        for (int x = 0; x < 3 * rgb.width; x++) {
            double d = (double)out.data[(size_t)y * out.stride + x] - rgb.data[(size_t)y * rgb.stride + x];
            se += d * d;
        }
    const double psnr = 10.0 * log10(255.0 * 255.0 / (se / (3.0 * rgb.width * rgb.height)));
    printf("encode from planes: %zu bytes (from RGB %zu), PSNR %.1f dB\n", a.len, b.len, psnr);
    assert_true(psnr > 35.0);
    assert_true(a.len < 2 * b.len && b.len < 2 * a.len);
    /* reuse of the output buffer, and refusals */
    assert_int_equal(lq_image_encode_yuv(&p, 75, 0, &a), 0);
    assert_int_equal(lq_image_encode_yuv(&p, 101, 0, &a), LQ_EINVAL);
    assert_int_equal(a.len, 0);
    assert_int_equal(lq_image_encode_yuv(&p, 75, 7, &a), LQ_EINVAL);
    assert_int_equal(lq_image_encode_yuv(NULL, 75, 0, &a), LQ_EINVAL);
    lq_yuv420 empty = {0};
    assert_int_equal(lq_image_encode_yuv(&empty, 75, 0, &a), LQ_EINVAL);
    assert_int_equal(lq_image_encode_yuv(&p, 75, 0, NULL), LQ_EINVAL);
    /* timing, for the record: planes vs RGB (the import the planes save) */
    double tp = 0, tr = 0;
    for (int i = 0; i < 20; i++) {
        struct timespec t0, t1, t2;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(lq_image_encode_yuv(&p, 75, 0, &a), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_int_equal(lq_image_encode(&rgb, LQ_FMT_WEBP, 75, 0, &b), 0);
        clock_gettime(CLOCK_MONOTONIC, &t2);
        tp += (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        tr += (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6;
    }
    printf("encode 640x480 q75 m0: from planes %.2f ms, from RGB %.2f ms (mean of 20)\n", tp / 20,
           tr / 20);
    free(copy);
    lq_encoded_free(&a);
    lq_encoded_free(&b);
    lq_image_free(&rgb);
    lq_image_free(&out);
    lq_yuv420_free(&p);
    free(buf);
}

static void alloc_and_convert_refuse_bad_arguments(void **s)
{
    (void)s;
    lq_yuv420 p;
    memset(&p, 0, sizeof p);
    assert_int_equal(lq_yuv420_alloc(&p, 0, 10), LQ_EINVAL);
    assert_int_equal(lq_yuv420_alloc(&p, 10, -1), LQ_EINVAL);
    assert_int_equal(lq_yuv420_alloc(NULL, 10, 10), LQ_EINVAL);
    assert_int_equal(lq_yuv420_alloc(&p, LQ_IMAGE_MAX_DIM + 1, 10), LQ_ELIMIT);
    assert_int_equal(lq_yuv420_alloc(&p, LQ_IMAGE_MAX_DIM, LQ_IMAGE_MAX_DIM), LQ_ELIMIT);
    assert_null(p.buf);
    lq_yuv420_free(&p);
    lq_yuv420_free(NULL);
    assert_int_equal(lq_yuv420_alloc(&p, 8, 6), 0);
    memset(p.buf, 128, 8 * 6 + 2 * 4 * 3);
    lq_image small = {0}, right = {0};
    assert_int_equal(lq_image_alloc(&small, 7, 6), 0);
    assert_int_equal(lq_yuv420_to_rgb(&p, &small), LQ_EINVAL);
    assert_int_equal(lq_yuv420_to_rgb(NULL, &small), LQ_EINVAL);
    assert_int_equal(lq_image_alloc(&right, 8, 6), 0);
    assert_int_equal(lq_yuv420_to_rgb(&p, &right), 0);
    /* mid grey: Y' 128 -> (128 - 16) * 1.164 = 130.4 */
    for (int i = 0; i < 8 * 6 * 3; i++)
        assert_int_equal(right.data[i], 130);
    lq_image_free(&small);
    lq_image_free(&right);
    lq_yuv420_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lossy_webp_keeps_planes_and_matches_libwebp),
        cmocka_unit_test(odd_sizes_match_libwebp),
        cmocka_unit_test(lossy_webp_with_alpha),
        cmocka_unit_test(other_inputs_give_no_planes),
        cmocka_unit_test(update_rect_changes_only_the_box),
        cmocka_unit_test(update_rect_clips),
        cmocka_unit_test(whole_frame_round_trip),
        cmocka_unit_test(encode_yuv),
        cmocka_unit_test(alloc_and_convert_refuse_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
