/* Tests src/tryon/tryon.c: the whole frame path on real photos and video frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec.h"
#include "lq_test.h"
#include "nails/color.h"
#include "nails/design.h"
#include "tryon/tryon.h"

typedef struct fixture {
    lq_tryon_engine *engine;
    lq_tryon_worker *worker;
} fixture;

static int setup(void **state)
{
    static fixture f;
    char err[256];
    lq_tryon_engine_opts eo = {.models_dir = LQ_MODELS_DIR, .load_lite = 1};
    if (lq_tryon_engine_create(&eo, &f.engine, err, sizeof err) < 0) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    if (lq_tryon_worker_create(f.engine, &f.worker) < 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lq_tryon_worker_destroy(f->worker);
    lq_tryon_engine_destroy(f->engine);
    return 0;
}

static lq_image load(const char *rel)
{
    lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
    lq_image img;
    char err[256];
    int rc = lq_image_load(lq_test_data(rel), &lim, &img, err, sizeof err);
    if (rc < 0)
        fail_msg("cannot load %s: %s", rel, err);
    return img;
}

static lq_tryon_session *session(fixture *f, int static_mode)
{
    nail_design d;
    nail_design_default(&d);
    lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
    so.static_mode = static_mode;
    lq_tryon_session *s = NULL;
    assert_int_equal(lq_tryon_session_create(f->engine, &d, &so, &s), 0);
    return s;
}

static void paints_nails_on_a_real_photo_and_only_near_them(void **state)
{
    fixture *f = *state;
    lq_image img = load("hands/tfjs_hands_two_dorsal.jpg");
    lq_image orig;
    assert_int_equal(lq_image_copy(&orig, &img), 0);
    lq_tryon_session *s = session(f, 1);
    lq_tryon_result res;
    assert_int_equal(lq_tryon_process(f->worker, s, &img, 0, &res), 0);
    printf("two dorsal hands: hands=%d nails=%d mask=0x%x conf=%.2f luma=%.1f sharp=%.1f "
           "problems=0x%x total=%.2f ms (hands %.2f nails %.2f paint %.2f)\n",
           res.hands.count, res.nnails, res.fingertips_mask, res.confidence, res.hand_luma,
           res.hand_sharpness, res.problems, res.t.total_ms, res.t.hands_ms, res.t.nails_ms,
           res.t.paint_ms);
    assert_int_equal(res.hands.count, 2);
    assert_true(res.nnails >= 8);
    assert_int_equal(res.fingertips_mask, 0x1f);
    assert_true(res.overlay_applied);
    assert_true(res.confidence > 0.5f);
    assert_int_equal(res.problems & (LQ_PROBLEM_NO_HAND | LQ_PROBLEM_LOW_LIGHT), 0);

    /* Every changed pixel lies within a few pixels of a painted nail's
     * (extended) shape: nothing else in the frame is touched. */
    long changed = 0, far = 0, outside_boxes = 0;
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            if (memcmp(lq_image_px(&img, x, y), lq_image_px(&orig, x, y), 3) == 0)
                continue;
            changed++;
            /* ... and inside one of the boxes the result reports (what the
             * service re-converts for its encoder, image/yuv.h) */
            int boxed = 0;
            for (int i = 0; i < res.npainted && !boxed; i++)
                boxed = x >= res.painted[i].x && x < res.painted[i].x + res.painted[i].w &&
                        y >= res.painted[i].y && y < res.painted[i].y + res.painted[i].h;
            outside_boxes += !boxed;
            float best = 1e9f;
            for (int i = 0; i < res.nnails; i++) {
                float dx = (float)x + 0.5f - res.nails[i].cx, dy = (float)y + 0.5f - res.nails[i].cy;
                float r = 2.5f * fmaxf(res.nails[i].length, res.nails[i].width);
                best = fminf(best, sqrtf(dx * dx + dy * dy) - r);
            }
            far += best > 0.0f;
        }
    printf("changed pixels: %ld, far from every nail: %ld, outside the %d painted boxes: %ld\n",
           changed, far, res.npainted, outside_boxes);
    assert_true(changed > 500);
    assert_int_equal(far, 0);
    assert_int_equal(outside_boxes, 0);
    assert_true(res.npainted >= 8 && res.npainted <= res.nnails);
    lq_encoded enc = {0};
    assert_int_equal(lq_image_encode(&img, LQ_FMT_JPEG, 90, 0, &enc), 0);
    lq_test_write_artifact("tryon_two_dorsal.jpg", enc.data, enc.len);
    lq_encoded_free(&enc);
    lq_tryon_session_destroy(s);
    lq_image_free(&img);
    lq_image_free(&orig);
}

/* A photo (static session, no nail smoother): a landmark nail that fusion
 * hid (rule 5: the landmarks miss the nails the network sees) is left out
 * of the result instead of being listed invisible. On 3493127D the palm
 * detector finds a hand whose ring nail lands off the nails; the network's
 * five nails are what the result lists. */
static void a_photo_lists_only_the_nails_it_paints(void **state)
{
    fixture *f = *state;
    lq_image img = load("nails/images/3493127D-7B19-4E50-94AE-2401BD2A91C8.jpg");
    lq_tryon_session *s = session(f, 1);
    lq_tryon_result res;
    assert_int_equal(lq_tryon_process(f->worker, s, &img, 0, &res), 0);
    int invisible = 0;
    for (int i = 0; i < res.nnails; i++)
        invisible += !res.nails[i].visible;
    printf("3493127D: hands %d, nails %d (%d by segmentation alone), invisible %d, painted boxes %d\n",
           res.hands.count, res.nnails, res.nails_segmented, invisible, res.npainted);
    assert_int_equal(invisible, 0);
    assert_true(res.nnails >= 5);
    assert_int_equal(res.npainted, res.nnails);
    lq_tryon_session_destroy(s);
    lq_image_free(&img);
}

static void reports_no_hand_on_an_empty_frame(void **state)
{
    fixture *f = *state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 640, 480), 0);
    memset(img.data, 128, (size_t)img.stride * 480u);
    lq_tryon_session *s = session(f, 0);
    lq_tryon_result res;
    assert_int_equal(lq_tryon_process(f->worker, s, &img, 0, &res), 0);
    assert_int_equal(res.hands.count, 0);
    assert_true(res.problems & LQ_PROBLEM_NO_HAND);
    assert_false(res.overlay_applied);
    assert_int_equal(res.fingertips_mask, 0);
    assert_true(res.confidence == 0.0f);
    assert_false(res.problems & LQ_PROBLEM_LOW_LIGHT);   /* mid-grey is not dark */
    for (size_t i = 0; i < (size_t)img.stride * 480u; i++)
        assert_int_equal(img.data[i], 128);
    lq_tryon_session_destroy(s);
    lq_image_free(&img);
}

/* Darkens a frame as an underexposed camera would (gamma + gain). */
static void darken(lq_image *img, float gain)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width * 3; x++) {
            uint8_t *p = img->data + (size_t)y * (size_t)img->stride + (size_t)x;
            *p = (uint8_t)(*p * gain + 0.5f);
        }
}

/* A separable box blur of the given radius, repeated three times (~Gaussian). */
static void blur(lq_image *img, int radius)
{
    lq_image tmp;
    assert_int_equal(lq_image_copy(&tmp, img), 0);
    for (int pass = 0; pass < 3; pass++) {
        for (int horizontal = 0; horizontal < 2; horizontal++) {
            lq_image *src = horizontal ? img : &tmp, *dst = horizontal ? &tmp : img;
            if (!horizontal)
                memcpy(tmp.data, img->data, (size_t)img->stride * (size_t)img->height);
            for (int y = 0; y < img->height; y++)
                for (int x = 0; x < img->width; x++)
                    for (int c = 0; c < 3; c++) {
                        int sum = 0, n = 0;
                        for (int k = -radius; k <= radius; k++) {
                            int xx = horizontal ? x + k : x, yy = horizontal ? y : y + k;
                            if (xx < 0 || yy < 0 || xx >= img->width || yy >= img->height)
                                continue;
                            sum += lq_image_px(src, xx, yy)[c];
                            n++;
                        }
                        lq_image_px(dst, x, y)[c] = (uint8_t)((sum + n / 2) / n);
                    }
            if (horizontal)
                memcpy(img->data, tmp.data, (size_t)img->stride * (size_t)img->height);
        }
    }
    lq_image_free(&tmp);
}

/* The shared videos are well lit and sharp: no frame with a hand may be
 * flagged; the same frames darkened or blurred must be. */
static void low_light_and_blur_detectors_on_real_frames(void **state)
{
    fixture *f = *state;
    static const char *frames[] = {
        "video/palm_reach/0150.webp", "video/palm_reach/0200.webp",
        "video/thumb_ok/0040.webp",   "video/thumb_ok/0150.webp",
        "video/asl_hand/0100.webp",   "video/asl_hand/0250.webp",
    };
    int tested = 0;
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        if (!lq_test_exists(lq_test_data(frames[i]))) {
            fail_msg("missing test frame %s", frames[i]);
        }
        lq_image img = load(frames[i]);
        lq_tryon_session *s = session(f, 1);
        lq_tryon_result res;
        lq_image work;
        assert_int_equal(lq_image_copy(&work, &img), 0);
        assert_int_equal(lq_tryon_process(f->worker, s, &work, 0, &res), 0);
        lq_image_free(&work);
        if (res.hands.count == 0) {
            printf("%s: no hand (skipped)\n", frames[i]);
            lq_tryon_session_destroy(s);
            lq_image_free(&img);
            continue;
        }
        tested++;
        float luma = res.hand_luma, sharp = res.hand_sharpness;
        unsigned clean_problems = res.problems;

        lq_image dark;
        assert_int_equal(lq_image_copy(&dark, &img), 0);
        darken(&dark, 0.18f);
        assert_int_equal(lq_tryon_process(f->worker, s, &dark, 0, &res), 0);
        float dark_luma = res.hand_luma;
        int dark_flag = (res.problems & LQ_PROBLEM_LOW_LIGHT) != 0;

        lq_image blurred;
        assert_int_equal(lq_image_copy(&blurred, &img), 0);
        blur(&blurred, 4);
        assert_int_equal(lq_tryon_process(f->worker, s, &blurred, 0, &res), 0);
        float blur_sharp = res.hand_sharpness;
        int blur_flag = res.hands.count == 0 || (res.problems & LQ_PROBLEM_BLUR);
        printf("%s: luma %.1f (darkened %.1f) sharpness %.1f (blurred %.1f)\n", frames[i], luma,
               dark_luma, sharp, blur_sharp);
        assert_int_equal(clean_problems & (LQ_PROBLEM_LOW_LIGHT | LQ_PROBLEM_BLUR), 0);
        assert_true(dark_flag);
        assert_true(blur_flag);
        lq_image_free(&dark);
        lq_image_free(&blurred);
        lq_tryon_session_destroy(s);
        lq_image_free(&img);
    }
    assert_true(tested >= 4);
}

/* The first frames of thumb_ok show a lit face on a black backdrop and no
 * hand: that is HAND_NOT_DETECTED, not LOW_LIGHT. */
static void a_dark_backdrop_is_not_low_light(void **state)
{
    fixture *f = *state;
    lq_image img = load("video/thumb_ok/0020.webp");
    lq_tryon_session *s = session(f, 1);
    lq_tryon_result res;
    assert_int_equal(lq_tryon_process(f->worker, s, &img, 0, &res), 0);
    printf("thumb_ok/0020: hands %d, bright luma %.1f, problems 0x%x\n", res.hands.count,
           res.hand_luma, res.problems);
    if (res.hands.count == 0) {
        assert_true(res.problems & LQ_PROBLEM_NO_HAND);
        assert_false(res.problems & LQ_PROBLEM_LOW_LIGHT);
    }
    lq_tryon_session_destroy(s);
    lq_image_free(&img);
}

/* The first frames of palm_reach are out of focus in the source video (the
 * camera focuses as the hand comes closer): a real blurred frame. */
static void flags_a_really_defocused_frame(void **state)
{
    fixture *f = *state;
    lq_image img = load("video/palm_reach/0005.webp");
    lq_tryon_session *s = session(f, 1);
    lq_tryon_result res;
    assert_int_equal(lq_tryon_process(f->worker, s, &img, 0, &res), 0);
    printf("palm_reach/0005: hands %d sharpness %.1f\n", res.hands.count, res.hand_sharpness);
    assert_int_equal(res.hands.count, 1);
    assert_true(res.problems & LQ_PROBLEM_BLUR);
    assert_false(res.problems & LQ_PROBLEM_LOW_LIGHT);
    lq_tryon_session_destroy(s);
    lq_image_free(&img);
}

static void sessions_keep_their_own_tracks_across_workers(void **state)
{
    fixture *f = *state;
    lq_tryon_worker *w2 = NULL;
    assert_int_equal(lq_tryon_worker_create(f->engine, &w2), 0);
    lq_tryon_session *a = session(f, 0), *b = session(f, 0);
    int hands_a = 0, hands_b = 0;
    char rel[128];
    for (int i = 40; i < 60; i++) {
        snprintf(rel, sizeof rel, "video/palm_reach/%04d.webp", i);
        lq_image fa = load(rel);
        snprintf(rel, sizeof rel, "video/thumb_ok/%04d.webp", i);
        lq_image fb = load(rel);
        lq_tryon_result ra, rb;
        /* Alternate workers: a session's state must travel with the session. */
        assert_int_equal(lq_tryon_process(i % 2 ? w2 : f->worker, a, &fa, i * 40000, &ra), 0);
        assert_int_equal(lq_tryon_process(i % 2 ? f->worker : w2, b, &fb, i * 40000, &rb), 0);
        hands_a += ra.hands.count > 0;
        hands_b += rb.hands.count > 0;
        lq_image_free(&fa);
        lq_image_free(&fb);
    }
    printf("frames with a hand: palm_reach %d/20, thumb_ok %d/20\n", hands_a, hands_b);
    assert_true(hands_a >= 15);
    assert_true(hands_b >= 15);
    lq_tryon_session_destroy(a);
    lq_tryon_session_destroy(b);
    lq_tryon_worker_destroy(w2);
}

/* RMS frame-to-frame movement of the painted nails' centres over a stretch of
 * video, matching nails by finger (one hand in these clips). */
static double nail_motion_rms(fixture *f, lq_tryon_session *s, const char *clip, int from, int to)
{
    float prev[5][2];
    int have[5] = {0};
    double sum = 0.0;
    int count = 0;
    char rel[128];
    for (int i = from; i <= to; i++) {
        snprintf(rel, sizeof rel, "video/%s/%04d.webp", clip, i);
        lq_image img = load(rel);
        lq_tryon_result r;
        assert_int_equal(lq_tryon_process(f->worker, s, &img, (int64_t)i * 40000, &r), 0);
        int seen[5] = {0};
        for (int k = 0; k < r.nnails; k++) {
            const nail_geom *g = &r.nails[k];
            if (g->finger < 0 || g->finger > 4 || g->hand != 0)
                continue;
            if (have[g->finger]) {
                double dx = g->cx - prev[g->finger][0], dy = g->cy - prev[g->finger][1];
                sum += dx * dx + dy * dy;
                count++;
            }
            prev[g->finger][0] = g->cx;
            prev[g->finger][1] = g->cy;
            seen[g->finger] = 1;
        }
        for (int g = 0; g < 5; g++)
            have[g] = seen[g];
        lq_image_free(&img);
    }
    assert_true(count > 10);
    return sqrt(sum / count);
}

/* The end of palm_reach holds the open hand almost still: a tracking session
 * (landmark and nail smoothing) must move the nails less than a session that
 * treats every frame on its own. */
static void tracking_sessions_hold_nails_steadier(void **state)
{
    fixture *f = *state;
    lq_tryon_session *smooth = session(f, 0), *raw = session(f, 1);
    double a = nail_motion_rms(f, smooth, "palm_reach", 170, 202);
    double b = nail_motion_rms(f, raw, "palm_reach", 170, 202);
    printf("palm_reach 170-202: nail centre motion RMS %.2f px smoothed, %.2f px per-frame\n", a, b);
    assert_true(a < b);
    lq_tryon_session_destroy(smooth);
    lq_tryon_session_destroy(raw);
}

/* Mean colour (in linear light) of the pixels a ground-truth mask marks as nail. */
static int masked_mean(const lq_image *img, const lq_image *mask, nail_rgb *out)
{
    double acc[3] = {0, 0, 0};
    long n = 0;
    for (int y = 0; y < img->height && y < mask->height; y++)
        for (int x = 0; x < img->width && x < mask->width; x++) {
            if (lq_image_px(mask, x, y)[0] <= 127)
                continue;
            const uint8_t *p = lq_image_px(img, x, y);
            for (int c = 0; c < 3; c++)
                acc[c] += nail_srgb8_to_linear(p[c]);
            n++;
        }
    if (n == 0)
        return 0;
    nail_lin lin = {(float)(acc[0] / n), (float)(acc[1] / n), (float)(acc[2] / n)};
    *out = nail_linear_to_rgb(lin);
    return 1;
}

/* Reference photos: where the photo shows nails, the palette comes from the
 * nail pixels; its first colour must be close to the nails' true colour
 * (from the data set's hand-drawn masks). */
static void reference_palette_comes_from_the_nails(void **state)
{
    fixture *f = *state;
    DIR *dir = opendir(lq_test_data("nails/images"));
    assert_non_null(dir);
    struct dirent *de;
    float de_sum = 0.0f;
    int with_nails = 0, total = 0, close = 0;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "nails/images/%s", de->d_name);
        lq_image img = load(rel), mask;
        snprintf(rel, sizeof rel, "nails/masks/%s", de->d_name);
        mask = load(rel);
        total++;
        lq_tryon_reference ref;
        assert_int_equal(lq_tryon_reference_analyse(f->worker, &img, &ref), 0);
        assert_true(ref.ncolors >= 1);
        assert_int_equal(ref.texture.width, 64);
        assert_int_equal(ref.texture.height, 128);
        nail_rgb truth;
        if (ref.nails_found > 0 && masked_mean(&img, &mask, &truth)) {
            float d = nail_delta_e2000(nail_rgb_to_lab(truth), nail_rgb_to_lab(ref.colors[0]));
            de_sum += d;
            close += d < 10.0f;
            with_nails++;
        }
        lq_image_free(&ref.texture);
        lq_image_free(&img);
        lq_image_free(&mask);
    }
    closedir(dir);
    printf("reference photos: %d/%d with nails found; first palette colour vs true nail colour: "
           "mean dE2000 %.1f, %d under 10\n",
           with_nails, total, with_nails ? de_sum / with_nails : 0.0f, close);
    assert_int_equal(total, 40);
    assert_true(with_nails >= 15);
    assert_true(de_sum / with_nails < 10.0f);
    lq_tryon_reference bad;
    lq_image empty = {0};
    assert_int_equal(lq_tryon_reference_analyse(f->worker, &empty, &bad), LQ_EINVAL);
}

static void refuses_bad_arguments(void **state)
{
    fixture *f = *state;
    nail_design d;
    nail_design_default(&d);
    lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
    lq_tryon_session *s = NULL;
    so.max_hands = 3;
    assert_int_equal(lq_tryon_session_create(f->engine, &d, &so, &s), LQ_EINVAL);
    assert_null(s);
    char err[128];
    assert_int_equal(lq_tryon_session_opts_validate(&so, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "max_hands"));
    so.max_hands = 2;
    so.low_light_luma = NAN;
    assert_int_equal(lq_tryon_session_opts_validate(&so, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "low_light_luma"));
    lq_tryon_result res;
    lq_image empty = {0};
    s = session(f, 0);
    assert_int_equal(lq_tryon_process(f->worker, s, &empty, 0, &res), LQ_EINVAL);
    assert_int_equal(lq_tryon_process(NULL, s, &empty, 0, &res), LQ_EINVAL);
    lq_tryon_session_destroy(s);
    lq_tryon_engine_opts eo = {.models_dir = "/nonexistent/models"};
    lq_tryon_engine *e = NULL;
    assert_true(lq_tryon_engine_create(&eo, &e, err, sizeof err) < 0);
    assert_null(e);
    printf("missing models: %s\n", err);
    assert_non_null(strstr(err, "/nonexistent/models"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paints_nails_on_a_real_photo_and_only_near_them),
        cmocka_unit_test(a_photo_lists_only_the_nails_it_paints),
        cmocka_unit_test(reports_no_hand_on_an_empty_frame),
        cmocka_unit_test(low_light_and_blur_detectors_on_real_frames),
        cmocka_unit_test(flags_a_really_defocused_frame),
        cmocka_unit_test(a_dark_backdrop_is_not_low_light),
        cmocka_unit_test(sessions_keep_their_own_tracks_across_workers),
        cmocka_unit_test(tracking_sessions_hold_nails_steadier),
        cmocka_unit_test(reference_palette_comes_from_the_nails),
        cmocka_unit_test(refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
