/*
 * test_cmd_detect.c - `lacquer detect`, run as a process (the real binary).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "image/codec.h"
#include "cli_run.h"
#include "lq_test.h"

static void help_lists_every_option(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(lq_test_run("detect --help", &out), 0);
    static const char *opts[] = {"--model",     "--max-hands", "--video",
                                 "--no-smooth", "--models",    "--help"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_non_null(strstr(out, opts[i]));
    free(out);
    assert_int_equal(lq_test_run("--help", &out), 0);
    assert_non_null(strstr(out, "detect"));
    free(out);
}

static void bad_usage_exits_2(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(lq_test_run("detect", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("detect --max-hands 3 x.jpg", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("detect --model heavy x.jpg", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("detect --bogus x.jpg", &out), 2);
    free(out);
}

static double ref_lm(const cJSON *hand, int i, int c)
{
    return cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(hand, "landmarks"), i), c)
        ->valuedouble;
}

static void prints_mediapipe_shaped_json(void **state)
{
    (void)state;
    char args[9000], *out = NULL;
    /* lq_test_data returns one static buffer: copy before the second call. */
    char first[4096];
    snprintf(first, sizeof first, "%s", lq_test_data("hands/tfjs_hands_two_dorsal.jpg"));
    snprintf(args, sizeof args, "detect --compact '%s' '%s'", first,
             lq_test_data("hands/kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg"));
    assert_int_equal(lq_test_run(args, &out), 0);
    cJSON *doc = cJSON_Parse(out);
    free(out);
    assert_non_null(doc);
    const cJSON *images = cJSON_GetObjectItem(doc, "images");
    assert_int_equal(cJSON_GetArraySize(images), 2);
    const cJSON *im = cJSON_GetArrayItem(images, 0);
    assert_string_equal(cJSON_GetObjectItem(im, "file")->valuestring, "tfjs_hands_two_dorsal.jpg");
    assert_int_equal(cJSON_GetObjectItem(im, "width")->valueint, 720);
    assert_int_equal(cJSON_GetObjectItem(im, "height")->valueint, 382);
    assert_int_equal(cJSON_GetObjectItem(im, "numHands")->valueint, 2);
    const cJSON *hands = cJSON_GetObjectItem(im, "hands");

    /* Same hands as MediaPipe's reference output for this image. */
    size_t len = 0;
    uint8_t *buf = lq_test_read_file(lq_test_data("landmarks/mediapipe_hands_full.json"), &len);
    assert_non_null(buf);
    cJSON *ref = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    const cJSON *rim = NULL, *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(ref, "images"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "file")->valuestring, "tfjs_hands_two_dorsal.jpg") == 0)
            rim = it;
    }
    assert_non_null(rim);
    const cJSON *rh;
    cJSON_ArrayForEach(rh, cJSON_GetObjectItem(rim, "hands"))
    {
        double best = INFINITY;
        const cJSON *match = NULL, *h;
        cJSON_ArrayForEach(h, hands)
        {
            double d = 0;
            for (int i = 0; i < 21; i++)
                d += fabs(ref_lm(h, i, 0) - ref_lm(rh, i, 0)) +
                     fabs(ref_lm(h, i, 1) - ref_lm(rh, i, 1));
            if (d < best)
                best = d, match = h;
        }
        assert_non_null(match);
        assert_true(best / 42 < 0.002); /* normalized units */
        for (int i = 0; i < 21; i++)    /* z at the scale of x */
            assert_float_equal(ref_lm(match, i, 2), ref_lm(rh, i, 2), 0.01);
        const cJSON *hd = cJSON_GetObjectItem(match, "handedness");
        const cJSON *rhd = cJSON_GetObjectItem(rh, "handedness");
        assert_string_equal(cJSON_GetObjectItem(hd, "label")->valuestring,
                            cJSON_GetObjectItem(rhd, "label")->valuestring);
        assert_int_equal(cJSON_GetObjectItem(hd, "index")->valueint,
                         cJSON_GetObjectItem(rhd, "index")->valueint);
        assert_float_equal(cJSON_GetObjectItem(hd, "score")->valuedouble,
                           cJSON_GetObjectItem(rhd, "score")->valuedouble, 0.01);
        const cJSON *w = cJSON_GetObjectItem(match, "worldLandmarks");
        assert_int_equal(cJSON_GetArraySize(w), 21);
        assert_float_equal(
            cJSON_GetArrayItem(cJSON_GetArrayItem(w, 4), 0)->valuedouble,
            cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rh, "worldLandmarks"), 4), 0)
                ->valuedouble,
            0.002);
    }
    /* A nail close-up where MediaPipe finds no hand: neither do we. */
    im = cJSON_GetArrayItem(images, 1);
    assert_int_equal(cJSON_GetObjectItem(im, "numHands")->valueint, 0);
    cJSON_Delete(ref);
    cJSON_Delete(doc);
}

static void video_mode_tracks_and_unreadable_files_fail(void **state)
{
    (void)state;
    char args[8192], *out = NULL;
    int k = snprintf(args, sizeof args, "detect --compact --video --max-hands 1");
    for (int i = 1; i <= 5; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "video/palm_reach/%04d.webp", i);
        k += snprintf(args + k, sizeof args - (size_t)k, " '%s'", lq_test_data(rel));
    }
    snprintf(args + k, sizeof args - (size_t)k, " /nonexistent/frame.webp");
    assert_int_equal(lq_test_run(args, &out), 1); /* the missing file fails the run... */
    cJSON *doc = cJSON_Parse(out);
    free(out);
    assert_non_null(doc); /* ...but every image still gets its entry */
    const cJSON *images = cJSON_GetObjectItem(doc, "images");
    assert_int_equal(cJSON_GetArraySize(images), 6);
    int id = -1;
    for (int i = 0; i < 5; i++) {
        const cJSON *im = cJSON_GetArrayItem(images, i);
        assert_int_equal(cJSON_GetObjectItem(im, "numHands")->valueint, 1);
        const int tid =
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(im, "hands"), 0), "trackId")
                ->valueint;
        if (id < 0)
            id = tid;
        assert_int_equal(tid, id); /* one track through the clip */
    }
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(images, 5), "error"));
    cJSON_Delete(doc);
}

/* The reference file's hand list for one image. */
static cJSON *reference_image(const char *rel, const char *file, cJSON **doc)
{
    size_t len = 0;
    uint8_t *buf = lq_test_read_file(lq_test_data(rel), &len);
    assert_non_null(buf);
    *doc = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    assert_non_null(*doc);
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(*doc, "images"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "file")->valuestring, file) == 0)
            return it;
    }
    fail_msg("%s not in %s", file, rel);
    return NULL;
}

/* Mean and max distance (pixels of a w x h image) between two hands'
 * normalized landmarks; b's are first mapped by rot90: (x, y) -> (y, 1 - x),
 * which undoes EXIF orientation 6 (the stored image turned 90 degrees
 * clockwise for display). */
static void hand_distance(const cJSON *a, const cJSON *b, int rot90, int w, int h, double *mean,
                          double *max)
{
    *mean = *max = 0;
    for (int i = 0; i < 21; i++) {
        double bx = ref_lm(b, i, 0), by = ref_lm(b, i, 1);
        if (rot90) {
            const double t = bx;
            bx = by, by = 1.0 - t;
        }
        const double d = hypot((ref_lm(a, i, 0) - bx) * w, (ref_lm(a, i, 1) - by) * h);
        *mean += d / 21;
        if (d > *max)
            *max = d;
    }
}

/* For each hand of want, the closest hand of got: worst mean and max distance. */
static void match_hands(const cJSON *want, const cJSON *got, int rot90, int w, int h,
                        double *worst_mean, double *worst_max)
{
    *worst_mean = *worst_max = 0;
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, want)
    {
        double best = INFINITY, best_max = INFINITY;
        cJSON_ArrayForEach(b, got)
        {
            double m, x;
            hand_distance(a, b, rot90, w, h, &m, &x);
            if (m < best)
                best = m, best_max = x;
        }
        if (best > *worst_mean)
            *worst_mean = best;
        if (best_max > *worst_max)
            *worst_max = best_max;
    }
}

static void lite_model_png_and_exif_orientation(void **state)
{
    (void)state;
    /* The two-dorsal photo as a PNG and as a JPEG whose EXIF says "rotate 90
     * degrees clockwise to display" (orientation 6, inserted after SOI). */
    char dir[] = "/tmp/lq-detect-XXXXXX", png[64], rot[64], jpg[4096];
    assert_non_null(mkdtemp(dir));
    snprintf(png, sizeof png, "%s/dorsal.png", dir);
    snprintf(rot, sizeof rot, "%s/dorsal_exif6.jpg", dir);
    snprintf(jpg, sizeof jpg, "%s", lq_test_data("hands/tfjs_hands_two_dorsal.jpg"));
    lq_image img = {0};
    char err[256];
    assert_int_equal(lq_image_load(jpg, NULL, &img, err, sizeof err), 0);
    assert_int_equal(lq_image_save(&img, png, 0), 0);
    lq_image_free(&img);
    size_t len = 0;
    uint8_t *bytes = lq_test_read_file(jpg, &len);
    assert_non_null(bytes);
    static const uint8_t exif6[] = {
        0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,       /* APP1, 34 bytes */
        'I',  'I',  42,   0,    8,   0,   0,   0,               /* TIFF, IFD0 at 8 */
        1,    0,                                                /* one entry */
        0x12, 0x01, 3,    0,    1,   0,   0,   0,   6, 0, 0, 0, /* Orientation = 6 */
        0,    0,    0,    0};                                   /* no next IFD */
    FILE *f = fopen(rot, "wb");
    assert_non_null(f);
    assert_true(fwrite(bytes, 1, 2, f) == 2 && fwrite(exif6, 1, sizeof exif6, f) == sizeof exif6 &&
                fwrite(bytes + 2, 1, len - 2, f) == len - 2);
    assert_int_equal(fclose(f), 0);
    free(bytes);

    char args[9000], *out = NULL;
    snprintf(args, sizeof args, "detect --compact --model lite '%s' '%s' '%s'", jpg, png, rot);
    assert_int_equal(lq_test_run(args, &out), 0);
    cJSON *doc = cJSON_Parse(out);
    free(out);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "model")->valuestring, "lite");
    const cJSON *images = cJSON_GetObjectItem(doc, "images");
    assert_int_equal(cJSON_GetArraySize(images), 3);
    const cJSON *from_jpg = cJSON_GetArrayItem(images, 0);
    const cJSON *from_png = cJSON_GetArrayItem(images, 1);
    const cJSON *from_rot = cJSON_GetArrayItem(images, 2);
    for (int k = 0; k < 3; k++)
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(images, k), "numHands")->valueint,
                         2);

    /* --model lite runs the lite models: MediaPipe's lite output for this
     * photo, to well under a pixel (the full models are ~3 px away). */
    cJSON *ref_doc = NULL;
    const cJSON *ref = reference_image("landmarks/mediapipe_hands_lite.json",
                                       "tfjs_hands_two_dorsal.jpg", &ref_doc);
    double mean, max;
    match_hands(cJSON_GetObjectItem(ref, "hands"), cJSON_GetObjectItem(from_jpg, "hands"), 0, 720,
                382, &mean, &max);
    print_message("--model lite vs MediaPipe lite: worst hand mean %.4f px, max %.4f px\n", mean,
                  max);
    assert_true(max < 0.5);
    cJSON_Delete(ref_doc);

    /* The PNG holds the JPEG's decoded pixels: the same landmarks. */
    assert_int_equal(cJSON_GetObjectItem(from_png, "width")->valueint, 720);
    assert_int_equal(cJSON_GetObjectItem(from_png, "height")->valueint, 382);
    match_hands(cJSON_GetObjectItem(from_jpg, "hands"), cJSON_GetObjectItem(from_png, "hands"), 0,
                720, 382, &mean, &max);
    print_message("PNG vs JPEG: worst hand mean %.4f px, max %.4f px\n", mean, max);
    assert_true(max < 0.01);

    /* EXIF orientation 6: the image is 382 x 720 as displayed, and its hands,
     * turned back, are where they are in the plain JPEG (the models see a
     * rotated picture, so not to the pixel: the upstream tolerance is 20 px). */
    assert_int_equal(cJSON_GetObjectItem(from_rot, "width")->valueint, 382);
    assert_int_equal(cJSON_GetObjectItem(from_rot, "height")->valueint, 720);
    match_hands(cJSON_GetObjectItem(from_jpg, "hands"), cJSON_GetObjectItem(from_rot, "hands"), 1,
                720, 382, &mean, &max);
    print_message("EXIF-rotated JPEG, turned back, vs JPEG: worst hand mean %.2f px, max %.2f px\n",
                  mean, max);
    assert_true(mean < 7.2); /* 1% of the long side */
    assert_true(max < 20.0);
    cJSON_Delete(doc);
    unlink(png);
    unlink(rot);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_lists_every_option),
        cmocka_unit_test(bad_usage_exits_2),
        cmocka_unit_test(prints_mediapipe_shaped_json),
        cmocka_unit_test(video_mode_tracks_and_unreadable_files_fail),
        cmocka_unit_test(lite_model_png_and_exif_orientation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
