/*
 * test_codec.c - src/image/codec.c and its back ends codec_jpeg.c,
 * codec_png.c and codec_webp.c: round trips, real photos and video frames,
 * hostile input, limits, EXIF orientation, buffer reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include "image/codec.h"
#include "lq_test.h"

/* ---- helpers ----------------------------------------------------------- */

/* A smooth gradient with a few hard edges: compresses like a photo. */
static lq_image make_pattern(int w, int h)
{
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, w, h), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = lq_image_px(&img, x, y);
            /* hard edges in brightness, smooth colour: like a photo, and
             * fair to codecs that subsample chroma */
            int edge = ((x / 8 + y / 8) & 1) ? 60 : 0;
            p[0] = (uint8_t)(20 + edge + x * 150 / (w > 1 ? w - 1 : 1));
            p[1] = (uint8_t)(30 + edge + y * 140 / (h > 1 ? h - 1 : 1));
            p[2] = (uint8_t)(90 + edge + (x + y) * 60 / (w + h));
        }
    return img;
}

static int images_equal(const lq_image *a, const lq_image *b)
{
    if (a->width != b->width || a->height != b->height)
        return 0;
    for (int y = 0; y < a->height; y++)
        if (memcmp(lq_image_px(a, 0, y), lq_image_px(b, 0, y), (size_t)a->width * 3))
            return 0;
    return 1;
}

static double psnr(const lq_image *a, const lq_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    double se = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * 3; x++) {
            double d = (double)lq_image_px(a, 0, y)[x] - (double)lq_image_px(b, 0, y)[x];
            se += d * d;
        }
    double mse = se / ((double)a->width * a->height * 3);
    return mse == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static lq_encoded encode(const lq_image *img, lq_format f, int q, int effort, int lossless)
{
    lq_encoded e = {0};
    lq_encode_opts o = {f, q, effort, lossless};
    assert_int_equal(lq_image_encode_opts(img, &o, &e), 0);
    assert_true(e.len > 0);
    assert_int_equal(lq_image_sniff(e.data, e.len), f);
    return e;
}

static const lq_image SENTINEL = {-7, -7, -7, (uint8_t *)1, -7};

static int is_sentinel(const lq_image *img)
{
    return img->width == -7 && img->height == -7 && img->stride == -7 &&
           img->data == (uint8_t *)1 && img->owned == -7;
}

/* Decodes and checks the contract on failure: a known code, out untouched. */
static int decode_checked(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                          lq_image *out)
{
    char err[256] = "";
    *out = SENTINEL;
    int rc = lq_image_decode(buf, len, lim, out, err, sizeof err);
    if (rc < 0) {
        assert_true(is_sentinel(out));
        assert_true(rc == LQ_EFORMAT || rc == LQ_EUNSUPPORTED || rc == LQ_ELIMIT);
        assert_true(err[0] != '\0');
        assert_null(strchr(err, '\n'));
    } else {
        assert_non_null(out->data);
        assert_true(out->width > 0 && out->height > 0);
    }
    return rc;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* ---- names ------------------------------------------------------------- */

static void sniffs_and_names_formats(void **state)
{
    (void)state;
    const uint8_t jpg[] = {0xff, 0xd8, 0xff, 0xe0};
    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t webp[] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};
    const uint8_t wav[] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'};
    assert_int_equal(lq_image_sniff(jpg, sizeof jpg), LQ_FMT_JPEG);
    assert_int_equal(lq_image_sniff(jpg, 2), LQ_FMT_UNKNOWN);
    assert_int_equal(lq_image_sniff(png, sizeof png), LQ_FMT_PNG);
    assert_int_equal(lq_image_sniff(png, 7), LQ_FMT_UNKNOWN);
    assert_int_equal(lq_image_sniff(webp, sizeof webp), LQ_FMT_WEBP);
    assert_int_equal(lq_image_sniff(wav, sizeof wav), LQ_FMT_UNKNOWN);
    assert_int_equal(lq_image_sniff(NULL, 0), LQ_FMT_UNKNOWN);
    assert_string_equal(lq_format_name(LQ_FMT_JPEG), "jpeg");
    assert_string_equal(lq_format_name(LQ_FMT_PNG), "png");
    assert_string_equal(lq_format_name(LQ_FMT_WEBP), "webp");
    assert_string_equal(lq_format_name(LQ_FMT_UNKNOWN), "unknown");
    assert_string_equal(lq_format_mime(LQ_FMT_WEBP), "image/webp");
    assert_string_equal(lq_format_mime(LQ_FMT_JPEG), "image/jpeg");
    assert_string_equal(lq_format_mime(LQ_FMT_PNG), "image/png");
    assert_int_equal(lq_format_parse("jpg"), LQ_FMT_JPEG);
    assert_int_equal(lq_format_parse("JPEG"), LQ_FMT_JPEG);
    assert_int_equal(lq_format_parse("webp"), LQ_FMT_WEBP);
    assert_int_equal(lq_format_parse("png"), LQ_FMT_PNG);
    assert_int_equal(lq_format_parse("gif"), LQ_FMT_UNKNOWN);
    assert_int_equal(lq_format_parse(NULL), LQ_FMT_UNKNOWN);
}

/* ---- round trips ------------------------------------------------------- */

static void round_trips_every_format(void **state)
{
    (void)state;
    lq_image img = make_pattern(97, 61); /* odd sizes: partial MCUs and blocks */
    struct {
        lq_format f;
        int q, effort, lossless;
        double min_psnr; /* 99 = exact */
    } cases[] = {
        {LQ_FMT_PNG, 0, 0, 0, 99},    {LQ_FMT_PNG, 0, 6, 0, 99},
        {LQ_FMT_WEBP, 75, 4, 1, 99},  {LQ_FMT_WEBP, 0, 0, 1, 99},
        /* WebP lossy at effort >= 3 smears this macroblock-aligned checker
         * (about 23 dB, libwebp's choice); real frames at effort 4 are
         * checked in round_trips_a_real_frame */
        {LQ_FMT_WEBP, 90, 2, 0, 34},  {LQ_FMT_WEBP, 75, 0, 0, 36},
        {LQ_FMT_JPEG, 90, 0, 0, 40},  {LQ_FMT_JPEG, 75, 0, 0, 38},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lq_encoded e = encode(&img, cases[i].f, cases[i].q, cases[i].effort, cases[i].lossless);
        lq_format f;
        int w, h;
        assert_int_equal(lq_image_probe(e.data, e.len, &f, &w, &h), 0);
        assert_int_equal(f, cases[i].f);
        assert_int_equal(w, 97);
        assert_int_equal(h, 61);
        lq_image out;
        assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
        double p = psnr(&img, &out);
        print_message("%s q%d e%d%s: %zu bytes, PSNR %.1f dB\n", lq_format_name(cases[i].f),
                      cases[i].q, cases[i].effort, cases[i].lossless ? " lossless" : "", e.len, p);
        if (cases[i].min_psnr >= 99)
            assert_true(images_equal(&img, &out));
        else if (p < cases[i].min_psnr)
            fail_msg("%s q%d: PSNR %.2f < %.2f", lq_format_name(cases[i].f), cases[i].q, p,
                     cases[i].min_psnr);
        lq_image_free(&out);
        lq_encoded_free(&e);
    }
    lq_image_free(&img);
}

/* The service's real loop: a camera frame re-encoded at the default settings. */
static void round_trips_a_real_frame(void **state)
{
    (void)state;
    const char *path = lq_test_data("video/palm_reach/0100.webp");
    if (!lq_test_exists(path)) {
        skip();
        return;
    }
    lq_image frame;
    char err[128];
    assert_int_equal(lq_image_load(path, NULL, &frame, err, sizeof err), 0);
    struct {
        lq_format f;
        int q, effort;
        double min_psnr;
    } cases[] = {{LQ_FMT_WEBP, 75, 4, 40}, {LQ_FMT_WEBP, 90, 2, 40}, {LQ_FMT_JPEG, 75, 0, 40},
                 {LQ_FMT_JPEG, 90, 0, 42}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lq_encoded e = encode(&frame, cases[i].f, cases[i].q, cases[i].effort, 0);
        lq_image out;
        assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
        double p = psnr(&frame, &out);
        print_message("640x480 frame %s q%d: %zu bytes, PSNR %.1f dB\n",
                      lq_format_name(cases[i].f), cases[i].q, e.len, p);
        if (p < cases[i].min_psnr)
            fail_msg("PSNR %.2f < %.2f", p, cases[i].min_psnr);
        lq_image_free(&out);
        lq_encoded_free(&e);
    }
    lq_image_free(&frame);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Not a pass/fail timing (machines differ): prints the per-frame costs the
 * service pays, best of a few runs, for a real 640x480 frame. */
static void reports_frame_codec_speed(void **state)
{
    (void)state;
    const char *path = lq_test_data("video/palm_reach/0100.webp");
    if (!lq_test_exists(path)) {
        skip();
        return;
    }
    lq_image frame;
    char err[128];
    assert_int_equal(lq_image_load(path, NULL, &frame, err, sizeof err), 0);
    struct {
        lq_format f;
        int q, effort;
    } cases[] = {{LQ_FMT_WEBP, 75, 4}, {LQ_FMT_WEBP, 75, 2}, {LQ_FMT_WEBP, 75, 0},
                 {LQ_FMT_JPEG, 75, 0}, {LQ_FMT_JPEG, 90, 0}, {LQ_FMT_PNG, 0, 1}};
    lq_encoded e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double enc = 1e9, dec = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now_ms();
            assert_int_equal(lq_image_encode(&frame, cases[i].f, cases[i].q, cases[i].effort, &e),
                             0);
            double t1 = now_ms();
            lq_image out;
            assert_int_equal(lq_image_decode(e.data, e.len, NULL, &out, NULL, 0), 0);
            double t2 = now_ms();
            lq_image_free(&out);
            enc = t1 - t0 < enc ? t1 - t0 : enc;
            dec = t2 - t1 < dec ? t2 - t1 : dec;
        }
        print_message("640x480 %s q%d effort %d: %zu bytes, encode %.2f ms, decode %.2f ms\n",
                      lq_format_name(cases[i].f), cases[i].q, cases[i].effort, e.len, enc, dec);
    }
    lq_encoded_free(&e);
    lq_image_free(&frame);
}

/* An image whose rows are padded (stride > 3*width) encodes like a packed one. */
static void encodes_strided_views(void **state)
{
    (void)state;
    lq_image img = make_pattern(40, 30);
    size_t stride = 40 * 3 + 17;
    uint8_t *buf = malloc(stride * 30);
    assert_non_null(buf);
    memset(buf, 0xee, stride * 30);
    for (int y = 0; y < 30; y++)
        memcpy(buf + (size_t)y * stride, lq_image_px(&img, 0, y), 40 * 3);
    lq_image view = {40, 30, (int)stride, buf, 0};
    lq_format fmts[] = {LQ_FMT_PNG, LQ_FMT_WEBP, LQ_FMT_JPEG};
    for (int i = 0; i < 3; i++) {
        lq_encoded a = encode(&img, fmts[i], 90, 3, i == 1);
        lq_encoded b = encode(&view, fmts[i], 90, 3, i == 1);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        lq_encoded_free(&a);
        lq_encoded_free(&b);
    }
    free(buf);
    lq_image_free(&img);
}

static void reuses_the_output_buffer(void **state)
{
    (void)state;
    lq_image img = make_pattern(160, 120);
    lq_format fmts[] = {LQ_FMT_PNG, LQ_FMT_WEBP, LQ_FMT_JPEG};
    for (int i = 0; i < 3; i++) {
        lq_encoded e = {0};
        assert_int_equal(lq_image_encode(&img, fmts[i], 75, 4, &e), 0);
        size_t first_len = e.len;
        uint8_t *data = e.data;
        size_t cap = e.cap;
        for (int k = 0; k < 5; k++) {
            assert_int_equal(lq_image_encode(&img, fmts[i], 75, 4, &e), 0);
            assert_ptr_equal(e.data, data);
            assert_int_equal(e.cap, cap);
            assert_int_equal(e.len, first_len);
        }
        lq_encoded_free(&e);
        assert_null(e.data);
        assert_int_equal(e.cap, 0);
    }
    lq_encoded_free(NULL);
    lq_image_free(&img);
}

static void refuses_bad_encode_arguments(void **state)
{
    (void)state;
    lq_image img = make_pattern(8, 8);
    lq_encoded e = {0};
    assert_int_equal(lq_image_encode(&img, LQ_FMT_JPEG, 101, 4, &e), LQ_EINVAL);
    assert_int_equal(lq_image_encode(&img, LQ_FMT_JPEG, -1, 4, &e), LQ_EINVAL);
    assert_int_equal(lq_image_encode(&img, LQ_FMT_WEBP, 75, 7, &e), LQ_EINVAL);
    assert_int_equal(lq_image_encode(&img, LQ_FMT_UNKNOWN, 75, 4, &e), LQ_EINVAL);
    assert_int_equal(lq_image_encode(NULL, LQ_FMT_PNG, 75, 4, &e), LQ_EINVAL);
    lq_image bad = img;
    bad.stride = 5;
    assert_int_equal(lq_image_encode(&bad, LQ_FMT_PNG, 75, 4, &e), LQ_EINVAL);
    assert_int_equal(lq_image_encode(&img, LQ_FMT_PNG, 75, 4, NULL), LQ_EINVAL);
    assert_int_equal(e.len, 0);
    /* quality 0 is legal everywhere */
    assert_int_equal(lq_image_encode(&img, LQ_FMT_JPEG, 0, 0, &e), 0);
    assert_int_equal(lq_image_encode(&img, LQ_FMT_WEBP, 0, 0, &e), 0);
    lq_encoded_free(&e);
    lq_image_free(&img);
}

static void saves_and_loads_files(void **state)
{
    (void)state;
    lq_image img = make_pattern(33, 21);
    const char *names[] = {"codec_save.png", "codec_save.WEBP", "codec_save.jpg",
                           "codec_save.jpeg"};
    for (int i = 0; i < 4; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/test-output", LQ_BINARY_DIR);
        assert_int_equal(lq_test_write_artifact("codec_probe.txt", "x", 1), 0);
        snprintf(path, sizeof path, "%s/test-output/%s", LQ_BINARY_DIR, names[i]);
        assert_int_equal(lq_image_save(&img, path, 95), 0);
        lq_image out;
        char err[128];
        assert_int_equal(lq_image_load(path, NULL, &out, err, sizeof err), 0);
        assert_int_equal(out.width, 33);
        assert_int_equal(out.height, 21);
        if (i == 0)
            assert_true(images_equal(&img, &out));
        else
            assert_true(psnr(&img, &out) > 28);
        lq_image_free(&out);
    }
    assert_int_equal(lq_image_save(&img, "/tmp/lq_codec_test.gif", 90), LQ_EINVAL);
    assert_int_equal(lq_image_save(&img, "/tmp/no_extension", 90), LQ_EINVAL);
    assert_int_equal(lq_image_save(&img, "/nonexistent-dir/x.png", 90), LQ_EIO);
    lq_image out = SENTINEL;
    char err[128];
    assert_int_equal(lq_image_load("/nonexistent-dir/x.png", NULL, &out, err, sizeof err),
                     LQ_ENOENT);
    assert_int_equal(lq_image_load("/tmp", NULL, &out, err, sizeof err), LQ_EIO);
    assert_true(is_sentinel(&out));
    lq_decode_limits tiny = {100, 100, 10000, 10};
    char path[4096];
    snprintf(path, sizeof path, "%s/test-output/codec_save.png", LQ_BINARY_DIR);
    assert_int_equal(lq_image_load(path, &tiny, &out, err, sizeof err), LQ_ELIMIT);
    assert_true(is_sentinel(&out));
    lq_image_free(&img);
}

/* ---- PNG variants ------------------------------------------------------ */

/* spng stream writer into a plain growing buffer (test-side, public API only). */
static int spng_write_cb(spng_ctx *ctx, void *user, void *src, size_t n)
{
    (void)ctx;
    lq_encoded *e = user;
    if (e->len + n > e->cap) {
        size_t cap = (e->len + n) * 2;
        uint8_t *p = realloc(e->data, cap);
        if (!p)
            return SPNG_IO_ERROR;
        e->data = p;
        e->cap = cap;
    }
    memcpy(e->data + e->len, src, n);
    e->len += n;
    return 0;
}

/* Encodes raw PNG-format pixels with libspng directly. */
static lq_encoded make_png(int w, int h, int color_type, int depth, int interlace,
                           const uint8_t *pixels, size_t len, const struct spng_plte *plte)
{
    lq_encoded e = {0};
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    assert_non_null(ctx);
    struct spng_ihdr ihdr = {(uint32_t)w, (uint32_t)h, (uint8_t)depth, (uint8_t)color_type, 0, 0,
                             (uint8_t)interlace};
    assert_int_equal(spng_set_png_stream(ctx, spng_write_cb, &e), 0);
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    if (plte) {
        struct spng_plte copy = *plte;
        assert_int_equal(spng_set_plte(ctx, &copy), 0);
    }
    assert_int_equal(spng_encode_image(ctx, pixels, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), 0);
    spng_ctx_free(ctx);
    return e;
}

static void decodes_every_png_variant(void **state)
{
    (void)state;
    enum { W = 7, H = 5 };
    uint8_t buf[W * H * 8];
    lq_image out;
    /* 8-bit gray */
    for (int i = 0; i < W * H; i++)
        buf[i] = (uint8_t)(i * 7);
    lq_encoded e = make_png(W, H, SPNG_COLOR_TYPE_GRAYSCALE, 8, 0, buf, W * H, NULL);
    assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
    for (int i = 0; i < W * H; i++) {
        const uint8_t *p = lq_image_px(&out, i % W, i / W);
        assert_int_equal(p[0], i * 7);
        assert_int_equal(p[1], i * 7);
        assert_int_equal(p[2], i * 7);
    }
    lq_image_free(&out);
    lq_encoded_free(&e);
    /* 16-bit RGB (big-endian samples), interlaced: high bytes survive */
    /* spng takes 16-bit samples in host order; v * 257 reads the same in both */
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++) {
            buf[i * 6 + c * 2] = (uint8_t)(i * 5 + c * 40);
            buf[i * 6 + c * 2 + 1] = (uint8_t)(i * 5 + c * 40);
        }
    e = make_png(W, H, SPNG_COLOR_TYPE_TRUECOLOR, 16, 1, buf, W * H * 6, NULL);
    assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(lq_image_px(&out, i % W, i / W)[c], (uint8_t)(i * 5 + c * 40));
    lq_image_free(&out);
    lq_encoded_free(&e);
    /* RGBA: alpha dropped, colour kept */
    for (int i = 0; i < W * H; i++) {
        buf[i * 4 + 0] = (uint8_t)i;
        buf[i * 4 + 1] = (uint8_t)(100 + i);
        buf[i * 4 + 2] = (uint8_t)(200 - i);
        buf[i * 4 + 3] = (uint8_t)(i * 3);
    }
    e = make_png(W, H, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, 0, buf, W * H * 4, NULL);
    assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
    for (int i = 0; i < W * H; i++) {
        const uint8_t *p = lq_image_px(&out, i % W, i / W);
        assert_int_equal(p[0], i);
        assert_int_equal(p[1], 100 + i);
        assert_int_equal(p[2], 200 - i);
    }
    lq_image_free(&out);
    lq_encoded_free(&e);
    /* gray + alpha, 16-bit */
    for (int i = 0; i < W * H; i++) {
        buf[i * 4 + 0] = (uint8_t)(i * 6);
        buf[i * 4 + 1] = (uint8_t)(i * 6);
        buf[i * 4 + 2] = 0x80;
        buf[i * 4 + 3] = 0x80;
    }
    e = make_png(W, H, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 16, 0, buf, W * H * 4, NULL);
    assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
    for (int i = 0; i < W * H; i++)
        assert_int_equal(lq_image_px(&out, i % W, i / W)[1], i * 6);
    lq_image_free(&out);
    lq_encoded_free(&e);
    /* 4-bit palette */
    struct spng_plte plte = {.n_entries = 16};
    for (int k = 0; k < 16; k++)
        plte.entries[k] = (struct spng_plte_entry){(uint8_t)(k * 16), (uint8_t)(255 - k), 7, 0};
    int rowbytes = (W + 1) / 2;
    memset(buf, 0, sizeof buf);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int idx = (x + y) & 15;
            buf[y * rowbytes + x / 2] |= (uint8_t)(x % 2 ? idx : idx << 4);
        }
    e = make_png(W, H, SPNG_COLOR_TYPE_INDEXED, 4, 0, buf, (size_t)rowbytes * H, &plte);
    assert_int_equal(decode_checked(e.data, e.len, NULL, &out), 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *p = lq_image_px(&out, x, y);
            int idx = (x + y) & 15;
            assert_int_equal(p[0], idx * 16);
            assert_int_equal(p[1], 255 - idx);
            assert_int_equal(p[2], 7);
        }
    lq_image_free(&out);
    lq_encoded_free(&e);
}

static void decodes_webp_with_alpha(void **state)
{
    (void)state;
    enum { W = 16, H = 12 };
    uint8_t rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        rgba[i * 4 + 0] = (uint8_t)(i & 0xff);
        rgba[i * 4 + 1] = (uint8_t)(i * 3);
        rgba[i * 4 + 2] = 90;
        rgba[i * 4 + 3] = (uint8_t)(i % 2 ? 255 : 128);
    }
    uint8_t *enc = NULL;
    size_t n = WebPEncodeLosslessRGBA(rgba, W, H, W * 4, &enc);
    assert_true(n > 0);
    lq_image out;
    assert_int_equal(decode_checked(enc, n, NULL, &out), 0);
    for (int i = 0; i < W * H; i++) {
        const uint8_t *p = lq_image_px(&out, i % W, i / W);
        assert_int_equal(p[0], rgba[i * 4 + 0]);
        assert_int_equal(p[1], rgba[i * 4 + 1]);
        assert_int_equal(p[2], rgba[i * 4 + 2]);
    }
    lq_image_free(&out);
    WebPFree(enc);
    for (int i = 0; i < W * H; i++) { /* smooth colour for the lossy codec */
        rgba[i * 4 + 0] = (uint8_t)(60 + (i % W) * 8);
        rgba[i * 4 + 1] = (uint8_t)(50 + (i / W) * 10);
    }
    n = WebPEncodeRGBA(rgba, W, H, W * 4, 95, &enc); /* lossy VP8 + ALPH chunk */
    assert_true(n > 0);
    assert_non_null(memmem(enc, n, "ALPH", 4));
    assert_int_equal(decode_checked(enc, n, NULL, &out), 0);
    assert_int_equal(out.width, W);
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++) {
            int d = (int)lq_image_px(&out, i % W, i / W)[c] - rgba[i * 4 + c];
            if (d < -12 || d > 12)
                fail_msg("pixel %d channel %d off by %d", i, c, d);
        }
    lq_image_free(&out);
    WebPFree(enc);
}

/* ---- real data ---------------------------------------------------------- */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Decodes every image in a folder of the shared data (every `step`-th file). */
static int decode_folder(const char *rel, const char *suffix, int step, int want_w, int want_h)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", lq_test_data(rel));
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, k = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!has_suffix(de->d_name, suffix) || (k++ % step) != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len = 0;
        uint8_t *buf = lq_test_read_file(path, &len);
        assert_non_null(buf);
        lq_format f;
        int pw, ph;
        assert_int_equal(lq_image_probe(buf, len, &f, &pw, &ph), 0);
        lq_image img;
        char err[256] = "";
        int rc = lq_image_decode(buf, len, NULL, &img, err, sizeof err);
        if (rc != 0)
            fail_msg("%s: %s (%s)", de->d_name, lq_err_name(rc), err);
        assert_int_equal(img.width, pw);
        assert_int_equal(img.height, ph);
        if (want_w) {
            assert_int_equal(img.width, want_w);
            assert_int_equal(img.height, want_h);
        }
        /* a real photo is not flat */
        int lo = 255, hi = 0;
        for (int y = 0; y < img.height; y += 7)
            for (int x = 0; x < img.width * 3; x += 5) {
                int v = lq_image_px(&img, 0, y)[x];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        assert_true(hi - lo > 64);
        lq_image_free(&img);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void decodes_real_photos(void **state)
{
    (void)state;
    if (!lq_test_exists(lq_test_data("hands"))) {
        skip();
        return;
    }
    assert_int_equal(decode_folder("hands", ".jpg", 1, 0, 0), 32);
    assert_int_equal(decode_folder("hands", ".png", 1, 0, 0), 1);
    assert_int_equal(decode_folder("nails/images", ".jpg", 1, 0, 0), 40);
}

static void decodes_real_video_frames(void **state)
{
    (void)state;
    if (!lq_test_exists(lq_test_data("video/palm_reach"))) {
        skip();
        return;
    }
    assert_true(decode_folder("video/palm_reach", ".webp", 5, 640, 480) >= 40);
    assert_true(decode_folder("video/thumb_ok", ".webp", 5, 640, 480) >= 39);
    assert_true(decode_folder("video/asl_hand", ".webp", 10, 620, 1080) >= 32);
}

/* ---- hostile input ----------------------------------------------------- */

static void refuses_empty_and_unknown_input(void **state)
{
    (void)state;
    lq_image out;
    const uint8_t junk[] = "GIF89a this is not an image we take";
    assert_int_equal(decode_checked(junk, 0, NULL, &out), LQ_EUNSUPPORTED);
    assert_int_equal(decode_checked(junk, sizeof junk, NULL, &out), LQ_EUNSUPPORTED);
    assert_int_equal(decode_checked(junk, 1, NULL, &out), LQ_EUNSUPPORTED);
    assert_int_equal(lq_image_decode(NULL, 0, NULL, &out, NULL, 0), LQ_EUNSUPPORTED);
    assert_int_equal(lq_image_decode(junk, sizeof junk, NULL, NULL, NULL, 0), LQ_EINVAL);
    int w = -1;
    assert_int_equal(lq_image_probe(junk, sizeof junk, NULL, &w, NULL), LQ_EUNSUPPORTED);
    assert_int_equal(w, -1);
    /* right magic, nothing after it */
    const uint8_t png_only[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_int_equal(decode_checked(png_only, sizeof png_only, NULL, &out), LQ_EFORMAT);
    assert_int_equal(lq_image_probe(png_only, sizeof png_only, NULL, &w, NULL), LQ_EFORMAT);
    const uint8_t jpg_only[] = {0xff, 0xd8, 0xff};
    assert_int_equal(decode_checked(jpg_only, sizeof jpg_only, NULL, &out), LQ_EFORMAT);
    const uint8_t webp_only[] = {'R', 'I', 'F', 'F', 4, 0, 0, 0, 'W', 'E', 'B', 'P'};
    assert_int_equal(decode_checked(webp_only, sizeof webp_only, NULL, &out), LQ_EFORMAT);
    /* a small error buffer is truncated, never overrun */
    char small[8];
    memset(small, 'z', sizeof small);
    assert_int_equal(lq_image_decode(junk, sizeof junk, NULL, &out, small, 4), LQ_EUNSUPPORTED);
    assert_int_equal(small[3], '\0');
    assert_int_equal(small[4], 'z');
}

static void refuses_truncated_input(void **state)
{
    (void)state;
    lq_image img = make_pattern(48, 40);
    lq_format fmts[] = {LQ_FMT_JPEG, LQ_FMT_PNG, LQ_FMT_WEBP, LQ_FMT_WEBP};
    for (int i = 0; i < 4; i++) {
        lq_encoded e = encode(&img, fmts[i], 80, 4, i == 3);
        int failures = 0;
        for (size_t cut = 0; cut < e.len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
            assert_non_null(copy);
            memcpy(copy, e.data, cut);
            lq_image out;
            int rc = decode_checked(copy, cut, NULL, &out);
            if (rc == 0) {
                /* only a cut in the trailer may still decode, and then fully */
                assert_true(cut + 16 >= e.len);
                assert_true(psnr(&img, &out) > 25);
                lq_image_free(&out);
            } else {
                failures++;
            }
            free(copy);
        }
        assert_true(failures + 16 >= (int)e.len);
        lq_encoded_free(&e);
    }
    lq_image_free(&img);
}

static void survives_corrupt_bytes(void **state)
{
    (void)state;
    lq_image img = make_pattern(64, 48);
    lq_format fmts[] = {LQ_FMT_JPEG, LQ_FMT_PNG, LQ_FMT_WEBP, LQ_FMT_WEBP};
    uint32_t rng = 12345;
    for (int i = 0; i < 4; i++) {
        lq_encoded e = encode(&img, fmts[i], 80, 4, i == 3);
        int errors = 0;
        for (int trial = 0; trial < 300; trial++) {
            uint8_t *copy = malloc(e.len);
            assert_non_null(copy);
            memcpy(copy, e.data, e.len);
            int flips = 1 + trial % 4;
            for (int k = 0; k < flips; k++) {
                rng = rng * 1664525u + 1013904223u;
                size_t at = 2 + (rng >> 8) % (e.len - 2); /* keep the magic */
                copy[at] ^= (uint8_t)(1u + (rng >> 24) % 255u);
            }
            lq_image out;
            if (decode_checked(copy, e.len, NULL, &out) == 0)
                lq_image_free(&out);
            else
                errors++;
            free(copy);
        }
        /* PNG has CRCs on everything; the others catch most damage */
        if (fmts[i] == LQ_FMT_PNG)
            assert_int_equal(errors, 300);
        else
            assert_true(errors > 0);
        lq_encoded_free(&e);
    }
    lq_image_free(&img);
}

/* A PNG signature and an IHDR claiming w x h, nothing else (33 bytes). */
static size_t png_header(uint8_t *b, uint32_t w, uint32_t h)
{
    const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(b, sig, 8);
    put_be32(b + 8, 13);
    memcpy(b + 12, "IHDR", 4);
    put_be32(b + 16, w);
    put_be32(b + 20, h);
    b[24] = 8, b[25] = 2, b[26] = 0, b[27] = 0, b[28] = 0;
    put_be32(b + 29, crc32_of(b + 12, 17));
    return 33;
}

/* SOI, SOF0 claiming w x h (3 components), SOS header: enough for the
 * header reader, no quantisation tables and no scan data. */
static size_t jpeg_header(uint8_t *b, unsigned w, unsigned h)
{
    size_t n = 0;
    b[n++] = 0xff, b[n++] = 0xd8;
    const uint8_t sof[] = {0xff, 0xc0, 0, 17, 8, (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)(w >> 8),
                           (uint8_t)w, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1};
    memcpy(b + n, sof, sizeof sof);
    n += sizeof sof;
    const uint8_t sos[] = {0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0};
    memcpy(b + n, sos, sizeof sos);
    n += sizeof sos;
    return n;
}

/* RIFF/WEBP with a VP8X chunk claiming a w x h canvas (30 bytes). */
static size_t webp_header(uint8_t *b, uint32_t w, uint32_t h)
{
    memcpy(b, "RIFF", 4);
    put_le32(b + 4, 22);
    memcpy(b + 8, "WEBPVP8X", 8);
    put_le32(b + 16, 10);
    memset(b + 20, 0, 4);
    uint32_t wm = w - 1, hm = h - 1;
    b[24] = (uint8_t)wm, b[25] = (uint8_t)(wm >> 8), b[26] = (uint8_t)(wm >> 16);
    b[27] = (uint8_t)hm, b[28] = (uint8_t)(hm >> 8), b[29] = (uint8_t)(hm >> 16);
    return 30;
}

static void refuses_huge_headers_before_allocating(void **state)
{
    (void)state;
    uint8_t b[64];
    lq_image out;
    /* 100000 x 100000 would be 30 GB of RGB: refused from the header alone */
    size_t n = png_header(b, 100000, 100000);
    int w = 0, h = 0;
    lq_format f;
    assert_int_equal(lq_image_probe(b, n, &f, &w, &h), 0);
    assert_int_equal(w, 100000);
    assert_int_equal(decode_checked(b, n, NULL, &out), LQ_ELIMIT);
    /* libwebp itself refuses canvases of 2^32 pixels or more */
    n = webp_header(b, 100000, 100000);
    assert_true(decode_checked(b, n, NULL, &out) < 0);
    n = webp_header(b, 60000, 60000);
    assert_int_equal(lq_image_probe(b, n, &f, &w, &h), 0);
    assert_int_equal(h, 60000);
    assert_int_equal(decode_checked(b, n, NULL, &out), LQ_ELIMIT);
    n = jpeg_header(b, 65000, 65000); /* JPEG sizes are 16-bit */
    assert_int_equal(lq_image_probe(b, n, &f, &w, &h), 0);
    assert_int_equal(w, 65000);
    assert_int_equal(decode_checked(b, n, NULL, &out), LQ_ELIMIT);

    /* Limits just below and above: at the limit the decoder goes on and finds
     * the data missing (EFORMAT); one pixel over, it stops at the header. */
    lq_decode_limits lim = {1000, 800, 1000 * 800, 1 << 20};
    n = png_header(b, 1000, 800);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_EFORMAT);
    n = png_header(b, 1001, 800);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_ELIMIT);
    n = png_header(b, 1000, 801);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_ELIMIT);
    n = jpeg_header(b, 1000, 800);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_EFORMAT);
    n = jpeg_header(b, 1001, 800);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_ELIMIT);
    n = webp_header(b, 1000, 800);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_EFORMAT);
    n = webp_header(b, 1000, 801);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_ELIMIT);
    lim.max_pixels = 1000 * 800 - 1;
    n = png_header(b, 1000, 800);
    assert_int_equal(decode_checked(b, n, &lim, &out), LQ_ELIMIT);
}

static void enforces_limits_on_real_images(void **state)
{
    (void)state;
    lq_image img = make_pattern(64, 48);
    lq_format fmts[] = {LQ_FMT_JPEG, LQ_FMT_PNG, LQ_FMT_WEBP};
    for (int i = 0; i < 3; i++) {
        lq_encoded e = encode(&img, fmts[i], 80, 4, 0);
        lq_decode_limits lim = {64, 48, 64 * 48, e.len};
        lq_image out;
        assert_int_equal(decode_checked(e.data, e.len, &lim, &out), 0);
        lq_image_free(&out);
        lim.max_width = 63;
        assert_int_equal(decode_checked(e.data, e.len, &lim, &out), LQ_ELIMIT);
        lim.max_width = 64, lim.max_height = 47;
        assert_int_equal(decode_checked(e.data, e.len, &lim, &out), LQ_ELIMIT);
        lim.max_height = 48, lim.max_pixels = 64 * 48 - 1;
        assert_int_equal(decode_checked(e.data, e.len, &lim, &out), LQ_ELIMIT);
        lim.max_pixels = 64 * 48, lim.max_bytes = e.len - 1;
        assert_int_equal(decode_checked(e.data, e.len, &lim, &out), LQ_ELIMIT);
        lq_encoded_free(&e);
    }
    lq_image_free(&img);
}

/* ---- EXIF orientation --------------------------------------------------- */

/* Builds an APP1 Exif segment whose IFD0 holds a dummy tag, then the
 * orientation tag (type SHORT, count 1, value o). */
static size_t exif_segment(uint8_t *b, int big_endian, unsigned o)
{
    uint8_t t[64];
    size_t n = 0;
#define P16(v)                                                                                 \
    do {                                                                                       \
        unsigned v_ = (v);                                                                     \
        t[n++] = (uint8_t)(big_endian ? v_ >> 8 : v_);                                         \
        t[n++] = (uint8_t)(big_endian ? v_ : v_ >> 8);                                         \
    } while (0)
#define P32(v)                                                                                 \
    do {                                                                                       \
        uint32_t w_ = (v);                                                                     \
        if (big_endian)                                                                        \
            put_be32(t + n, w_);                                                               \
        else                                                                                   \
            put_le32(t + n, w_);                                                               \
        n += 4;                                                                                \
    } while (0)
    t[n++] = big_endian ? 'M' : 'I';
    t[n++] = big_endian ? 'M' : 'I';
    P16(42);
    P32(8);
    P16(2);                       /* two entries */
    P16(0x010f); /* Make, ASCII, 4 bytes inline */
    P16(2);
    P32(4);
    memcpy(t + n, "lq!", 4), n += 4;
    P16(0x0112); /* Orientation, SHORT, 1 */
    P16(3);
    P32(1);
    P16(o);
    P16(0);
    P32(0);                       /* no next IFD */
#undef P16
#undef P32
    size_t seg = 2 + 6 + n;
    b[0] = 0xff, b[1] = 0xe1, b[2] = (uint8_t)(seg >> 8), b[3] = (uint8_t)seg;
    memcpy(b + 4, "Exif\0\0", 6);
    memcpy(b + 10, t, n);
    return 2 + seg;
}

/* Inserts seg right after SOI. */
static uint8_t *splice(const lq_encoded *jpg, const uint8_t *seg, size_t seg_len, size_t *len)
{
    uint8_t *out = malloc(jpg->len + seg_len);
    assert_non_null(out);
    memcpy(out, jpg->data, 2);
    memcpy(out + 2, seg, seg_len);
    memcpy(out + 2 + seg_len, jpg->data + 2, jpg->len - 2);
    *len = jpg->len + seg_len;
    return out;
}

static lq_image transform(const lq_image *src, int transpose, int flip_h, int flip_v)
{
    lq_image t;
    int w = transpose ? src->height : src->width, h = transpose ? src->width : src->height;
    assert_int_equal(lq_image_alloc(&t, w, h), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int a = flip_h ? w - 1 - x : x, b = flip_v ? h - 1 - y : y;
            const uint8_t *s = transpose ? lq_image_px(src, b, a) : lq_image_px(src, a, b);
            memcpy(lq_image_px(&t, x, y), s, 3);
        }
    return t;
}

static void applies_exif_orientation(void **state)
{
    (void)state;
    /* EXIF 1..8 as transpose, then mirror left-right, then mirror up-down */
    const int ops[9][3] = {{0}, {0, 0, 0}, {0, 1, 0}, {0, 1, 1}, {0, 0, 1},
                           {1, 0, 0}, {1, 1, 0}, {1, 1, 1}, {1, 0, 1}};
    lq_image img = make_pattern(40, 24);
    lq_encoded jpg = encode(&img, LQ_FMT_JPEG, 95, 0, 0);
    lq_image plain;
    assert_int_equal(decode_checked(jpg.data, jpg.len, NULL, &plain), 0);
    for (int be = 0; be < 2; be++)
        for (int o = 1; o <= 8; o++) {
            uint8_t seg[128];
            size_t seg_len = exif_segment(seg, be, (unsigned)o), len;
            uint8_t *buf = splice(&jpg, seg, seg_len, &len);
            int w, h;
            assert_int_equal(lq_image_probe(buf, len, NULL, &w, &h), 0);
            assert_int_equal(w, o >= 5 ? 24 : 40);
            assert_int_equal(h, o >= 5 ? 40 : 24);
            lq_image got, want = transform(&plain, ops[o][0], ops[o][1], ops[o][2]);
            assert_int_equal(decode_checked(buf, len, NULL, &got), 0);
            if (!images_equal(&got, &want))
                fail_msg("orientation %d (%s-endian) wrong", o, be ? "big" : "little");
            if (be == 0 && o == 6) /* the limits see the rotated size */ {
                lq_decode_limits lim = {24, 40, 24 * 40, len};
                lq_image again;
                assert_int_equal(decode_checked(buf, len, &lim, &again), 0);
                lq_image_free(&again);
                lim.max_width = 40, lim.max_height = 24;
                assert_int_equal(decode_checked(buf, len, &lim, &again), LQ_ELIMIT);
            }
            lq_image_free(&got);
            lq_image_free(&want);
            free(buf);
        }
    /* invalid values and malformed blocks leave the image as stored */
    unsigned bad_values[] = {0, 9, 0xffff};
    for (int i = 0; i < 3; i++) {
        uint8_t seg[128];
        size_t seg_len = exif_segment(seg, 1, bad_values[i]), len;
        uint8_t *buf = splice(&jpg, seg, seg_len, &len);
        lq_image got;
        assert_int_equal(decode_checked(buf, len, NULL, &got), 0);
        assert_true(images_equal(&got, &plain));
        lq_image_free(&got);
        free(buf);
    }
    uint8_t seg[128];
    size_t seg_len = exif_segment(seg, 0, 6);
    /* every truncation of the TIFF block (segment length adjusted) and a few
     * corrupt IFD offsets/counts: never a crash, orientation 6 or none */
    for (size_t keep = 10; keep <= seg_len; keep++) {
        uint8_t s2[128];
        memcpy(s2, seg, keep);
        s2[2] = (uint8_t)((keep - 2) >> 8), s2[3] = (uint8_t)(keep - 2);
        size_t len;
        uint8_t *buf = splice(&jpg, s2, keep, &len);
        lq_image got;
        assert_int_equal(decode_checked(buf, len, NULL, &got), 0);
        /* the orientation entry ends at byte 10 + 8 + 2 + 2 * 12 */
        assert_int_equal(got.width, keep >= 44 ? 24 : 40);
        lq_image_free(&got);
        free(buf);
    }
    const size_t pokes[] = {14, 15, 16, 17, 18, 19}; /* IFD offset and entry count */
    for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        uint8_t s2[128];
        memcpy(s2, seg, seg_len);
        s2[pokes[i]] = 0xff;
        size_t len;
        uint8_t *buf = splice(&jpg, s2, seg_len, &len);
        lq_image got;
        assert_int_equal(decode_checked(buf, len, NULL, &got), 0);
        lq_image_free(&got);
        free(buf);
    }
    lq_image_free(&plain);
    lq_encoded_free(&jpg);
    lq_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sniffs_and_names_formats),
        cmocka_unit_test(round_trips_every_format),
        cmocka_unit_test(round_trips_a_real_frame),
        cmocka_unit_test(reports_frame_codec_speed),
        cmocka_unit_test(encodes_strided_views),
        cmocka_unit_test(reuses_the_output_buffer),
        cmocka_unit_test(refuses_bad_encode_arguments),
        cmocka_unit_test(saves_and_loads_files),
        cmocka_unit_test(decodes_every_png_variant),
        cmocka_unit_test(decodes_webp_with_alpha),
        cmocka_unit_test(decodes_real_photos),
        cmocka_unit_test(decodes_real_video_frames),
        cmocka_unit_test(refuses_empty_and_unknown_input),
        cmocka_unit_test(refuses_truncated_input),
        cmocka_unit_test(survives_corrupt_bytes),
        cmocka_unit_test(refuses_huge_headers_before_allocating),
        cmocka_unit_test(enforces_limits_on_real_images),
        cmocka_unit_test(applies_exif_orientation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
