/* test_segment.c - nail segmentation runner: letterbox, blobs, PCA, direction,
 * masks and bad model files, on small synthetic models (tests/support/tfl_builder).
 * The cross-validated IoU of the real models is in test_segment_eval.c. */
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
#include "nails/segment.h"
#include "colour_model.h"

#define PI_F 3.14159265f

/* A colour detector (tests/support/colour_model.h): in_c channels (3 for a
 * valid model), out_c probability channels (1 for a valid model); with_dir
 * adds a second output [1,h,w,2] that is the constant (dir_x, dir_y). */
static int positive_channel = 0; /* the colour the next write_model detects (0 = red) */

static const char *write_model(const char *name, int in_h, int in_w, int in_c, int out_c,
                               int with_dir, float dir_x, float dir_y)
{
    const lq_test_colour_model_opts o = {in_h, in_w, in_c, out_c, positive_channel,
                                         with_dir, dir_x, dir_y};
    const char *path = lq_test_colour_model(name, &o);
    assert_non_null(path);
    return path;
}

static nail_seg_model *load_ok(const char *path)
{
    char err[256] = "";
    nail_seg_model *m = NULL;
    int rc = nail_seg_model_load(path, &m, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return m;
}

static void fill(lq_image *img, uint8_t r, uint8_t g, uint8_t b)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = lq_image_px(img, x, y);
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
}

/* Paints a filled ellipse (semi-axes a along angle th, b across). */
static void ellipse(lq_image *img, float cx, float cy, float a, float b, float th, uint8_t r,
                    uint8_t g, uint8_t bl)
{
    float c = cosf(th), s = sinf(th);
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
            float u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
            if (u * u + v * v <= 1.0f) {
                uint8_t *p = lq_image_px(img, x, y);
                p[0] = r;
                p[1] = g;
                p[2] = bl;
            }
        }
}

static float axis_angle_err(float ax, float ay, float th)
{
    float d = fabsf(atan2f(ay, ax) - th);
    d = fmodf(d, PI_F);
    return fminf(d, PI_F - d);
}

static void bad_model_files_give_clear_errors(void **state)
{
    (void)state;
    char err[256] = "";
    nail_seg_model *m = (nail_seg_model *)0x1;
    assert_int_equal(nail_seg_model_load("/nonexistent/nailseg.tflite", &m, err, sizeof err),
                     LQ_ENOENT);
    assert_ptr_equal(m, (nail_seg_model *)0x1);
    assert_non_null(strstr(err, "/nonexistent/nailseg.tflite"));

    /* one input channel instead of RGB */
    const char *p = write_model("seg_gray.tflite", 240, 320, 1, 1, 0, 0, 0);
    err[0] = 0;
    assert_int_equal(nail_seg_model_load(p, &m, err, sizeof err), LQ_EFORMAT);
    assert_non_null(strstr(err, "[1,H,W,3]"));
    assert_non_null(strstr(err, "[1,240,320,1]"));

    /* three probability channels: no [1,h,w,1] output */
    p = write_model("seg_3out.tflite", 240, 320, 3, 3, 0, 0, 0);
    err[0] = 0;
    assert_int_equal(nail_seg_model_load(p, &m, err, sizeof err), LQ_EFORMAT);
    assert_non_null(strstr(err, "[1,h,w,1]"));

    /* not a flatbuffer: the loader's reason is passed on */
    const char junk[] = "this is not a TFLite model, just some bytes in a file";
    assert_int_equal(lq_test_write_artifact("seg_junk.tflite", junk, sizeof junk), 0);
    char jp[4096];
    snprintf(jp, sizeof jp, "%s/test-output/seg_junk.tflite", LQ_BINARY_DIR);
    err[0] = 0;
    int rc = nail_seg_model_load(jp, &m, err, sizeof err);
    assert_true(rc == LQ_EFORMAT || rc == LQ_EUNSUPPORTED);
    assert_non_null(strstr(err, "seg_junk.tflite: "));
    assert_true(strlen(err) > strlen(jp) + 4);
    assert_ptr_equal(m, (nail_seg_model *)0x1);
    assert_int_equal(nail_seg_model_load(NULL, &m, err, sizeof err), LQ_EINVAL);
}

/* The letterbox is right if a red ellipse comes back where it was drawn,
 * for landscape, portrait, a large (area-resized) and a tiny frame. */
static void letterbox_round_trip_on_frames_of_any_shape(void **state)
{
    (void)state;
    nail_seg_model *m = load_ok(write_model("seg_red.tflite", 240, 320, 3, 1, 0, 0, 0));
    int iw, ih, ow, oh;
    nail_seg_model_sizes(m, &iw, &ih, &ow, &oh);
    assert_int_equal(iw, 320);
    assert_int_equal(ih, 240);
    assert_int_equal(ow, 160);
    assert_int_equal(oh, 120);
    assert_int_equal(nail_seg_model_has_direction(m), 0);
    nail_seg *s = NULL;
    assert_int_equal(nail_seg_create(m, &s), 0);
    const int sizes[][2] = {{640, 480}, {480, 640}, {2000, 1500}, {1500, 2000},
                            {1200, 300}, {300, 1200}, {64, 48}, {48, 64}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int W = sizes[k][0], H = sizes[k][1];
        lq_image f;
        assert_int_equal(lq_image_alloc(&f, W, H), 0);
        fill(&f, 128, 128, 128);
        float scale = (float)(W < H ? W : H);
        float cx = 0.37f * (float)W, cy = 0.58f * (float)H;
        float a = 0.12f * scale, b = 0.06f * scale, th = 0.6f;
        ellipse(&f, cx, cy, a, b, th, 200, 40, 60);
        assert_int_equal(nail_seg_run(s, &f), 0);
        /* coordinates map to the probability map and back */
        float mx, my, x, y;
        nail_seg_frame_to_map(s, 10.0f, 20.0f, &mx, &my);
        nail_seg_map_to_frame(s, mx, my, &x, &y);
        assert_float_equal(x, 10.0f, 1e-2f);
        assert_float_equal(y, 20.0f, 1e-2f);
        nail_seg_blob bl[NAIL_SEG_MAX_BLOBS];
        int n = -1;
        nail_seg_blob_opts bo = NAIL_SEG_BLOB_OPTS_DEFAULT;
        bo.min_area_px = 0.0f;
        assert_int_equal(nail_seg_blobs(s, NULL, &bo, bl, NAIL_SEG_MAX_BLOBS, &n), 0);
        assert_int_equal(n, 1);
        int RW = H > W ? H : W, RH = H > W ? W : H; /* portrait frames go in turned */
        float cell = 2.0f / fminf(320.0f / (float)RW, 240.0f / (float)RH); /* px a cell */
        assert_float_equal(bl[0].cx, cx, 0.6f * cell + 0.5f);
        assert_float_equal(bl[0].cy, cy, 0.6f * cell + 0.5f);
        if (a / cell >= 4.0f) {
            assert_true(axis_angle_err(bl[0].ax, bl[0].ay, th) < 0.08f);
            assert_float_equal(bl[0].area, PI_F * a * b, 0.2f * PI_F * a * b);
        }
        assert_true(bl[0].confidence > 0.5f && bl[0].confidence <= 1.0f);
        assert_true(bl[0].x0 <= (int)(cx - b) && bl[0].x1 >= (int)(cx + b));
        lq_image_free(&f);
    }
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
}

/* Blob finding on hand-made probability maps: components, the size filter,
 * max_blobs keeps the largest, labels, moments. */
static void blobs_on_synthetic_maps(void **state)
{
    (void)state;
    enum { W = 64, H = 48 };
    float *p = calloc(W * H, sizeof *p);
    int *labels = calloc(W * H, sizeof *labels), *queue = calloc(W * H, sizeof *queue);
    /* A: 12x4 horizontal bar at (4..15, 4..7); B: 3x9 vertical at (30..32, 20..28);
     * C: one cell (below min area); D: diagonal touching corners only (two
     * components under 4-connectivity). */
    for (int j = 4; j < 8; j++)
        for (int i = 4; i < 16; i++)
            p[j * W + i] = 0.9f;
    for (int j = 20; j < 29; j++)
        for (int i = 30; i < 33; i++)
            p[j * W + i] = 0.7f;
    p[40 * W + 50] = 0.99f;
    p[44 * W + 10] = p[45 * W + 11] = 0.8f;
    nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
    o.min_area_px = 2.0f * 4.0f; /* cell 2x2 frame px: one cell is 4 px */
    nail_seg_blob b[NAIL_SEG_MAX_BLOBS];
    int n = -1;
    assert_int_equal(nail_seg_find_blobs(p, W, H, 2.0f, 2.0f, 10.0f, 0.0f, &o, labels, queue, b,
                                         NAIL_SEG_MAX_BLOBS, &n),
                     0);
    assert_int_equal(n, 2);
    /* A first (48 cells), in frame px: centre x = 2 * (9.5 + 0.5) + 10 */
    assert_int_equal(b[0].label, 1);
    assert_float_equal(b[0].area, 48.0f * 4.0f, 1e-3f);
    assert_float_equal(b[0].cx, 30.0f, 1e-3f);
    assert_float_equal(b[0].cy, 12.0f, 1e-3f);
    assert_float_equal(fabsf(b[0].ax), 1.0f, 1e-4f);
    /* moments of a 24 x 8 px rectangle: elongation = 24 / 8 */
    assert_float_equal(b[0].elongation, 3.0f, 1e-3f);
    assert_true(b[0].length > 20.0f && b[0].length < 30.0f);
    assert_true(b[0].width > 6.5f && b[0].width < 10.0f);
    assert_float_equal(b[0].confidence, 0.9f, 1e-5f);
    assert_int_equal(b[0].x0, 18);
    assert_int_equal(b[0].x1, 42);
    assert_int_equal(b[1].label, 2);
    assert_float_equal(fabsf(b[1].ay), 1.0f, 1e-4f);
    assert_true(b[1].ay < 0.0f); /* upright rule: tip toward the top */
    assert_float_equal(b[1].confidence, 0.7f, 1e-5f);
    assert_int_equal(labels[5 * W + 5], 1);
    assert_int_equal(labels[25 * W + 31], 2);
    assert_int_equal(labels[40 * W + 50], 0);
    assert_int_equal(labels[44 * W + 10], 0);

    /* max_blobs 1 keeps the largest; with a zero min area the specks count */
    o.max_blobs = 1;
    assert_int_equal(nail_seg_find_blobs(p, W, H, 2.0f, 2.0f, 0.0f, 0.0f, &o, labels, queue, b,
                                         NAIL_SEG_MAX_BLOBS, &n),
                     0);
    assert_int_equal(n, 1);
    assert_float_equal(b[0].area, 48.0f * 4.0f, 1e-3f);
    assert_int_equal(labels[25 * W + 31], 0);
    o.max_blobs = NAIL_SEG_MAX_BLOBS;
    o.min_area_px = 0.0f;
    /* specks under min_rel_area (12%) of the largest blob go */
    assert_int_equal(nail_seg_find_blobs(p, W, H, 2.0f, 2.0f, 0.0f, 0.0f, &o, labels, queue, b,
                                         NAIL_SEG_MAX_BLOBS, &n),
                     0);
    assert_int_equal(n, 2);
    o.min_rel_area = 0.0f;
    assert_int_equal(nail_seg_find_blobs(p, W, H, 2.0f, 2.0f, 0.0f, 0.0f, &o, labels, queue, b,
                                         NAIL_SEG_MAX_BLOBS, &n),
                     0);
    assert_int_equal(n, 5);

    /* many blobs: only the 16 largest survive, largest first */
    memset(p, 0, sizeof(float) * W * H);
    for (int k = 0; k < 30; k++) {
        int i0 = (k % 10) * 6, j0 = (k / 10) * 12, len = 1 + k % 10 + (k / 10);
        for (int j = j0; j < j0 + len; j++)
            p[j * W + i0] = 0.8f;
    }
    assert_int_equal(nail_seg_find_blobs(p, W, H, 1.0f, 1.0f, 0.0f, 0.0f, &o, labels, queue, b,
                                         NAIL_SEG_MAX_BLOBS, &n),
                     0);
    assert_int_equal(n, NAIL_SEG_MAX_BLOBS);
    for (int k = 1; k < n; k++)
        assert_true(b[k].area <= b[k - 1].area);
    assert_float_equal(b[0].area, 12.0f, 1e-4f);
    assert_true(b[n - 1].area >= 6.0f);

    /* bad input */
    assert_int_equal(nail_seg_find_blobs(NULL, W, H, 1.0f, 1.0f, 0.0f, 0.0f, &o, labels, queue,
                                         b, 4, &n),
                     LQ_EINVAL);
    assert_int_equal(nail_seg_find_blobs(p, 0, H, 1.0f, 1.0f, 0.0f, 0.0f, &o, labels, queue, b,
                                         4, &n),
                     LQ_EINVAL);
    o.threshold = 1.0f;
    assert_int_equal(nail_seg_find_blobs(p, W, H, 1.0f, 1.0f, 0.0f, 0.0f, &o, labels, queue, b,
                                         4, &n),
                     LQ_EINVAL);
    o = (nail_seg_blob_opts)NAIL_SEG_BLOB_OPTS_DEFAULT;
    o.max_blobs = 17;
    assert_int_equal(nail_seg_blob_opts_validate(&o), LQ_EINVAL);
    free(p);
    free(labels);
    free(queue);
}

/* PCA of rotated ellipses rasterised at cell size 1. */
static void principal_axis_of_rotated_ellipses(void **state)
{
    (void)state;
    enum { W = 120, H = 120 };
    float *p = calloc(W * H, sizeof *p);
    int *labels = calloc(W * H, sizeof *labels), *queue = calloc(W * H, sizeof *queue);
    for (int k = 0; k < 8; k++) {
        float th = -PI_F / 2 + (float)k * PI_F / 8.0f, a = 30.0f, b = 12.0f;
        memset(p, 0, sizeof(float) * W * H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float dx = (float)x + 0.5f - 60.0f, dy = (float)y + 0.5f - 55.0f;
                float u = (dx * cosf(th) + dy * sinf(th)) / a;
                float v = (-dx * sinf(th) + dy * cosf(th)) / b;
                p[y * W + x] = u * u + v * v <= 1.0f ? 0.95f : 0.05f;
            }
        nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
        nail_seg_blob bl[2];
        int n = 0;
        assert_int_equal(nail_seg_find_blobs(p, W, H, 1.0f, 1.0f, 0.0f, 0.0f, &o, labels, queue,
                                             bl, 2, &n),
                         0);
        assert_int_equal(n, 1);
        assert_true(axis_angle_err(bl[0].ax, bl[0].ay, th) < 0.02f);
        assert_float_equal(bl[0].elongation, a / b, 0.08f * a / b);
        assert_float_equal(bl[0].cx, 60.0f, 0.1f);
        assert_float_equal(bl[0].cy, 55.0f, 0.1f);
        /* the rounded plate with the ellipse's moments and area is close to it */
        assert_float_equal(bl[0].length, 2.0f * a, 0.12f * 2.0f * a);
        assert_float_equal(bl[0].width, 2.0f * b, 0.12f * 2.0f * b);
        assert_true(bl[0].ay <= 0.0f);
        nail_geom g;
        nail_seg_blob_to_geom(&bl[0], &g);
        assert_int_equal(g.visible, 1);
        assert_int_equal(g.finger, -1);
        assert_int_equal(g.hand, -1);
        assert_float_equal(g.length, bl[0].length, 0.0f);
        /* the geometry's own outline covers the ellipse well */
        int both = 0, any = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int t = p[y * W + x] > 0.5f;
                int q = nail_geom_sdf(&g, (float)x + 0.5f, (float)y + 0.5f) <= 0.0f;
                both += t && q;
                any += t || q;
            }
        assert_true((float)both / (float)any > 0.85f);
    }
    free(p);
    free(labels);
    free(queue);
}

/* Base-to-tip without landmarks: a nail whose axis runs off the frame at
 * one end has its base there (also pointing down, where the upright rule
 * would be wrong); else the tip points up; a direction output wins. */
static void direction_from_context_and_network(void **state)
{
    (void)state;
    nail_seg_model *m = load_ok(write_model("seg_red2.tflite", 240, 320, 3, 1, 0, 0, 0));
    nail_seg *s = NULL;
    assert_int_equal(nail_seg_create(m, &s), 0);
    lq_image f;
    assert_int_equal(lq_image_alloc(&f, 640, 480), 0);
    const float dirs[][2] = {{0.8f, 0.6f}, {-0.6f, -0.8f}, {0.0f, 1.0f}, {-1.0f, 0.0f}};
    for (int k = 0; k < 5; k++) {
        /* k < 4: a nail whose base end runs off the frame (a finger entering
         * from that edge); k = 4: in the middle, pointing down: the upright
         * rule turns it up */
        float dx = k < 4 ? dirs[k][0] : 0.0f, dy = k < 4 ? dirs[k][1] : 1.0f;
        fill(&f, 40, 90, 160);
        float tb = 1e9f; /* distance from the centre to the border behind the nail */
        if (dx > 0.0f)
            tb = fminf(tb, 320.0f / dx);
        if (dx < 0.0f)
            tb = fminf(tb, 320.0f / -dx);
        if (dy > 0.0f)
            tb = fminf(tb, 240.0f / dy);
        if (dy < 0.0f)
            tb = fminf(tb, 240.0f / -dy);
        float back = k < 4 ? tb - 32.0f : 0.0f;
        float ncx = 320.0f - back * dx, ncy = 240.0f - back * dy;
        ellipse(&f, ncx, ncy, 30.0f, 22.0f, atan2f(dy, dx), 200, 30, 50);
        assert_int_equal(nail_seg_run(s, &f), 0);
        nail_seg_blob b[4];
        int n = 0;
        nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
        assert_int_equal(nail_seg_blobs(s, &f, &o, b, 4, &n), 0);
        assert_int_equal(n, 1);
        if (k < 4) {
            assert_int_equal(b[0].dir_source, NAIL_SEG_DIR_CONTEXT);
            assert_true(b[0].ax * dx + b[0].ay * dy > 0.95f);
        } else {
            assert_int_equal(b[0].dir_source, NAIL_SEG_DIR_UPRIGHT);
            assert_true(b[0].ay < -0.95f);
        }
        /* blob outline at frame resolution vs the drawn ellipse */
        uint8_t *mask = malloc(640 * 480);
        assert_int_equal(nail_seg_mask(s, 0, mask, 640, 480, 640), 0);
        int both = 0, any = 0;
        for (int y = 0; y < 480; y++)
            for (int x = 0; x < 640; x++) {
                const uint8_t *q = lq_image_px(&f, x, y);
                int t = q[0] == 200 && q[1] == 30;
                int pm = mask[y * 640 + x] == 255;
                both += t && pm;
                any += t || pm;
            }
        assert_true((float)both / (float)any > 0.9f);
        assert_int_equal(nail_seg_mask(s, 2, mask, 640, 480, 640), LQ_EINVAL);
        assert_int_equal(nail_seg_mask(s, 0, mask, 320, 480, 640), LQ_EINVAL);
        free(mask);
    }
    /* a frame of another size than the run's is refused */
    lq_image g;
    assert_int_equal(lq_image_alloc(&g, 64, 64), 0);
    nail_seg_blob b[4];
    int n = 0;
    nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
    assert_int_equal(nail_seg_blobs(s, &g, &o, b, 4, &n), LQ_EINVAL);
    lq_image_free(&g);
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);

    /* a model with a direction output (constant: tip points down) */
    m = load_ok(write_model("seg_dir.tflite", 240, 320, 3, 1, 1, 0.0f, 1.0f));
    assert_int_equal(nail_seg_model_has_direction(m), 1);
    assert_int_equal(nail_seg_create(m, &s), 0);
    fill(&f, 128, 128, 128);
    ellipse(&f, 300, 200, 50, 20, 1.4f, 200, 40, 60);
    assert_int_equal(nail_seg_run(s, &f), 0);
    assert_int_equal(nail_seg_blobs(s, &f, &o, b, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b[0].dir_source, NAIL_SEG_DIR_NETWORK);
    assert_true(b[0].ay > 0.9f);
    /* a portrait frame goes in turned: the input's "down" is the frame's
     * "left", and the mask comes back in the frame's orientation */
    lq_image pf;
    assert_int_equal(lq_image_alloc(&pf, 480, 640), 0);
    fill(&pf, 128, 128, 128);
    ellipse(&pf, 200, 420, 60, 25, 0.3f, 200, 40, 60);
    assert_int_equal(nail_seg_run(s, &pf), 0);
    int mw = 0, mh = 0;
    assert_non_null(nail_seg_prob(s, &mw, &mh));
    assert_int_equal(mw, 120);
    assert_int_equal(mh, 160);
    assert_int_equal(nail_seg_blobs(s, &pf, &o, b, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b[0].dir_source, NAIL_SEG_DIR_NETWORK);
    assert_true(b[0].ax < -0.9f);
    assert_float_equal(b[0].cx, 200.0f, 2.0f);
    assert_float_equal(b[0].cy, 420.0f, 2.0f);
    uint8_t *pm = malloc(480 * 640);
    assert_int_equal(nail_seg_mask(s, 0, pm, 480, 640, 480), 0);
    int both = 0, any = 0;
    for (int y = 0; y < 640; y++)
        for (int x = 0; x < 480; x++) {
            int t = lq_image_px(&pf, x, y)[1] == 40, q = pm[y * 480 + x] == 255;
            both += t && q;
            any += t || q;
        }
    assert_true((float)both / (float)any > 0.9f);
    free(pm);
    lq_image_free(&pf);
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
    lq_image_free(&f);
}

/* A run on a region of the frame: blobs and masks still in frame pixels. */
static void region_runs_report_frame_coordinates(void **state)
{
    (void)state;
    nail_seg_model *m = load_ok(write_model("seg_red4.tflite", 240, 320, 3, 1, 0, 0, 0));
    nail_seg *s = NULL;
    assert_int_equal(nail_seg_create(m, &s), 0);
    lq_image f;
    assert_int_equal(lq_image_alloc(&f, 1280, 720), 0);
    fill(&f, 128, 128, 128);
    ellipse(&f, 900.0f, 500.0f, 16.0f, 9.0f, 1.2f, 200, 40, 60);
    ellipse(&f, 100.0f, 100.0f, 16.0f, 9.0f, 1.2f, 200, 40, 60); /* outside the region */
    assert_int_equal(nail_seg_run_region(s, &f, 800, 420, 200, 150), 0);
    nail_seg_blob b[4];
    int n = 0;
    nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
    assert_int_equal(nail_seg_blobs(s, &f, &o, b, 4, &n), 0);
    assert_int_equal(n, 1);
    /* 200 px over 320 input px: cells of 1.25 frame px */
    assert_float_equal(b[0].cx, 900.0f, 1.0f);
    assert_float_equal(b[0].cy, 500.0f, 1.0f);
    assert_true(axis_angle_err(b[0].ax, b[0].ay, 1.2f) < 0.05f);
    assert_float_equal(b[0].area, PI_F * 16.0f * 9.0f, 0.1f * PI_F * 16.0f * 9.0f);
    uint8_t *mask = malloc(1280 * 720);
    assert_int_equal(nail_seg_mask(s, 0, mask, 1280, 720, 1280), 0);
    assert_int_equal(mask[500 * 1280 + 900], 255);
    assert_int_equal(mask[100 * 1280 + 100], 0);
    free(mask);
    assert_int_equal(nail_seg_run_region(s, &f, 1200, 0, 200, 100), LQ_EINVAL);
    assert_int_equal(nail_seg_run_region(s, &f, -1, 0, 200, 100), LQ_EINVAL);
    assert_int_equal(nail_seg_run_region(s, &f, 0, 0, 0, 100), LQ_EINVAL);
    lq_image_free(&f);
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
}

/* Test-time flips: the flipped passes' maps are flipped back before they
 * are averaged, so a nail stays where it is (flipped back wrongly, half its
 * probability would show at the mirrored place); also on a turned portrait
 * frame and a region. */
static void flips_average_maps_in_place(void **state)
{
    (void)state;
    nail_seg_model *m = load_ok(write_model("seg_red5.tflite", 240, 320, 3, 1, 0, 0, 0));
    nail_seg *s = NULL;
    assert_int_equal(nail_seg_create(m, &s), 0);
    static const int sizes[3][2] = {{640, 480}, {480, 640}, {1280, 720}};
    for (int k = 0; k < 3; k++) {
        const int W = sizes[k][0], H = sizes[k][1];
        lq_image f;
        assert_int_equal(lq_image_alloc(&f, W, H), 0);
        fill(&f, 128, 128, 128);
        float cx = 0.3f * (float)W, cy = 0.25f * (float)H;
        ellipse(&f, cx, cy, 20.0f, 12.0f, 0.7f, 200, 40, 60);
        nail_seg_blob b0[4], b1[4];
        int n0 = 0, n1 = 0;
        nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
        int x0 = k == 2 ? 100 : 0, y0 = k == 2 ? 50 : 0, rw = k == 2 ? 640 : W, rh = k == 2 ? 480 : H;
        for (unsigned flips = 0; flips <= 7; flips++) {
            assert_int_equal(nail_seg_set_flips(s, flips), 0);
            assert_int_equal(nail_seg_run_region(s, &f, x0, y0, rw, rh), 0);
            nail_seg_blob *b = flips ? b1 : b0;
            int *n = flips ? &n1 : &n0;
            assert_int_equal(nail_seg_blobs(s, &f, &o, b, 4, n), 0);
            assert_int_equal(*n, 1);
            /* the stride-2 model samples the other pixel of each pair on a
             * flipped input: up to one input pixel (2 frame pixels) apart */
            assert_float_equal(b[0].cx, b0[0].cx, 2.5f);
            assert_float_equal(b[0].cy, b0[0].cy, 2.5f);
            assert_float_equal(b[0].area, b0[0].area, 0.25f * b0[0].area);
            /* nothing at the mirrored places */
            int mw = 0, mh = 0;
            const float *map = nail_seg_prob(s, &mw, &mh);
            float mx, my;
            nail_seg_frame_to_map(s, (float)(2 * x0 + rw) - cx, cy, &mx, &my);
            assert_true(map[(int)my * mw + (int)mx] < 0.05f);
            nail_seg_frame_to_map(s, cx, (float)(2 * y0 + rh) - cy, &mx, &my);
            assert_true(map[(int)my * mw + (int)mx] < 0.05f);
            nail_seg_frame_to_map(s, cx, cy, &mx, &my);
            assert_true(map[(int)my * mw + (int)mx] > 0.9f);
        }
        assert_float_equal(b0[0].cx, cx, 2.5f);
        lq_image_free(&f);
    }
    assert_int_equal(nail_seg_set_flips(s, 8), LQ_EINVAL);
    assert_int_equal(nail_seg_set_flips(NULL, 1), LQ_EINVAL);
    assert_int_equal(nail_seg_set_flips(s, 0), 0);
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
    /* a direction output would need its vectors flipped too: refused */
    m = load_ok(write_model("seg_dir2.tflite", 240, 320, 3, 1, 1, 0.0f, 1.0f));
    assert_int_equal(nail_seg_create(m, &s), 0);
    assert_int_equal(nail_seg_set_flips(s, NAIL_SEG_FLIP_H), LQ_EUNSUPPORTED);
    assert_int_equal(nail_seg_set_flips(s, 0), 0);
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
}

/* "x_portrait.tflite" beside "x.tflite" runs portrait frames. Here the
 * companion detects blue instead of red, to see which one ran. */
static void portrait_companion_runs_portrait_frames(void **state)
{
    (void)state;
    char main_path[4096];
    snprintf(main_path, sizeof main_path, "%s", write_model("seg_pc.tflite", 240, 320, 3, 1, 0, 0, 0));
    positive_channel = 2;
    (void)write_model("seg_pc_portrait.tflite", 320, 240, 3, 1, 0, 0, 0);
    positive_channel = 0;
    nail_seg_model *m = load_ok(main_path);
    assert_int_equal(nail_seg_model_has_portrait(m), 1);
    nail_seg *s = NULL;
    assert_int_equal(nail_seg_create(m, &s), 0);
    lq_image pf, lf;
    assert_int_equal(lq_image_alloc(&pf, 480, 640), 0);
    assert_int_equal(lq_image_alloc(&lf, 640, 480), 0);
    fill(&pf, 128, 128, 128);
    fill(&lf, 128, 128, 128);
    ellipse(&pf, 150, 400, 40, 20, 0.5f, 30, 40, 210); /* blue */
    ellipse(&pf, 350, 200, 40, 20, 0.5f, 210, 40, 30); /* red */
    ellipse(&lf, 150, 400, 40, 20, 0.5f, 30, 40, 210);
    ellipse(&lf, 350, 200, 40, 20, 0.5f, 210, 40, 30);
    nail_seg_blob b[4];
    int n = 0, mw = 0, mh = 0;
    nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
    assert_int_equal(nail_seg_run(s, &pf), 0);
    assert_non_null(nail_seg_prob(s, &mw, &mh));
    assert_int_equal(mw, 120);
    assert_int_equal(mh, 160);
    assert_int_equal(nail_seg_blobs(s, &pf, &o, b, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_float_equal(b[0].cx, 150.0f, 2.0f); /* the blue one: the companion ran */
    assert_float_equal(b[0].cy, 400.0f, 2.0f);
    assert_int_equal(nail_seg_run(s, &lf), 0);
    assert_int_equal(nail_seg_blobs(s, &lf, &o, b, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_float_equal(b[0].cx, 350.0f, 2.0f); /* the red one: the main model ran */
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
    lq_image_free(&pf);
    lq_image_free(&lf);

    /* a companion of the wrong shape is ignored */
    snprintf(main_path, sizeof main_path, "%s", write_model("seg_pw.tflite", 240, 320, 3, 1, 0, 0, 0));
    (void)write_model("seg_pw_portrait.tflite", 240, 320, 3, 1, 0, 0, 0);
    m = load_ok(main_path);
    assert_int_equal(nail_seg_model_has_portrait(m), 0);
    nail_seg_model_destroy(m);
}

static void invalid_calls_are_refused(void **state)
{
    (void)state;
    nail_seg_model *m = load_ok(write_model("seg_red3.tflite", 240, 320, 3, 1, 0, 0, 0));
    nail_seg *s = NULL;
    assert_int_equal(nail_seg_create(NULL, &s), LQ_EINVAL);
    assert_int_equal(nail_seg_create(m, &s), 0);
    nail_seg_blob b[2];
    int n = 0;
    nail_seg_blob_opts o = NAIL_SEG_BLOB_OPTS_DEFAULT;
    assert_int_equal(nail_seg_blobs(s, NULL, &o, b, 2, &n), LQ_EINVAL); /* no run yet */
    assert_null(nail_seg_prob(s, NULL, NULL));
    lq_image empty = {0};
    assert_int_equal(nail_seg_run(s, &empty), LQ_EINVAL);
    assert_int_equal(nail_seg_run(s, NULL), LQ_EINVAL);
    lq_image f;
    assert_int_equal(lq_image_alloc(&f, 32, 32), 0);
    fill(&f, 10, 10, 10);
    assert_int_equal(nail_seg_run(s, &f), 0);
    int w = 0, h = 0;
    const float *p = nail_seg_prob(s, &w, &h);
    assert_non_null(p);
    assert_int_equal(w * h, 160 * 120);
    uint8_t mask[32 * 32];
    assert_int_equal(nail_seg_mask(s, 0, mask, 32, 32, 32), LQ_EINVAL); /* no blobs yet */
    assert_int_equal(nail_seg_blobs(s, &f, &o, b, 2, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(nail_seg_mask(s, 0, mask, 32, 32, 32), 0);
    for (int i = 0; i < 32 * 32; i++)
        assert_int_equal(mask[i], 0);
    lq_image_free(&f);
    nail_seg_destroy(s);
    nail_seg_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_model_files_give_clear_errors),
        cmocka_unit_test(letterbox_round_trip_on_frames_of_any_shape),
        cmocka_unit_test(blobs_on_synthetic_maps),
        cmocka_unit_test(principal_axis_of_rotated_ellipses),
        cmocka_unit_test(direction_from_context_and_network),
        cmocka_unit_test(region_runs_report_frame_coordinates),
        cmocka_unit_test(flips_average_maps_in_place),
        cmocka_unit_test(portrait_companion_runs_portrait_frames),
        cmocka_unit_test(invalid_calls_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
