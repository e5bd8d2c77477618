/* test_segment_frame.c - where the network looks on a frame (whole frame,
 * hands' region, the landmark nails' box zoomed, the fallback) and the
 * fusion that follows, on a synthetic "red detector" model
 * (tests/support/colour_model). */
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
#include "nails/segment_frame.h"
#include "colour_model.h"
#include "synthetic_hand.h"

/* The hand (lq_test_fingers_up_hands): finger f's tip at (TIP_X + 40 f,
 * TIP_Y), DIP 30 px below; the other landmarks at the wrist (300, 420). */
#define TIP_X 200.0f
#define TIP_Y 200.0f

static nail_geom lm_nail(int finger, float cx, float cy)
{
    return lq_test_upright_nail(3, finger, cx, cy, 16.0f, 20.0f);
}

/* A grey 640x480 frame with four red nails (16 x 20 ellipses) at the
 * index..pinky tips. */
static void make_frame(lq_image *img)
{
    assert_int_equal(lq_image_alloc(img, 640, 480), 0);
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = lq_image_px(img, x, y);
            int in = 0;
            for (int f = 1; f < 5 && !in; f++) {
                float dx = ((float)x + 0.5f - (TIP_X + 40.0f * (float)f)) / 8.0f;
                float dy = ((float)y + 0.5f - TIP_Y) / 10.0f;
                in = dx * dx + dy * dy <= 1.0f;
            }
            p[0] = in ? 210 : 128;
            p[1] = in ? 40 : 128;
            p[2] = in ? 60 : 128;
        }
}

typedef struct fixture {
    nail_seg_model *m;
    nail_seg *s;
    lq_image img;
    lq_hands hands;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    char err[256];
    const char *model = lq_test_red_nail_model("segframe_red.tflite");
    assert_non_null(model);
    assert_int_equal(nail_seg_model_load(model, &fx->m, err, sizeof err), 0);
    assert_int_equal(nail_seg_create(fx->m, &fx->s), 0);
    make_frame(&fx->img);
    lq_test_fingers_up_hands(&fx->hands, TIP_X, TIP_Y, 300.0f, 420.0f, 3);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    nail_seg_destroy(fx->s);
    nail_seg_model_destroy(fx->m);
    lq_image_free(&fx->img);
    free(fx);
    return 0;
}

static void no_hand_segments_the_whole_frame(void **state)
{
    fixture *fx = *state;
    nail_seg_frame_opts o = NAIL_SEG_FRAME_OPTS_DEFAULT;
    o.zoom = 1;
    nail_geom out[NAIL_MAX];
    int n = -1, nh = -1;
    nail_seg_frame_info fi;
    lq_hands none;
    memset(&none, 0, sizeof none);
    assert_int_equal(
        nail_seg_find_nails(fx->s, &fx->img, &none, NULL, 0, &o, out, NAIL_MAX, &n, &nh, &fi), 0);
    assert_int_equal(fi.passes, 1);
    assert_int_equal(fi.zoomed, 0);
    assert_int_equal(fi.fell_back, 0);
    assert_int_equal(fi.box[0], 0);
    assert_int_equal(fi.box[1], 0);
    assert_int_equal(fi.box[2], 640);
    assert_int_equal(fi.box[3], 480);
    assert_int_equal(nh, 0);
    assert_int_equal(n, 4); /* the four red nails, each a nail of its own */
    for (int i = 0; i < n; i++) {
        assert_int_equal(out[i].hand, -1);
        assert_float_equal(out[i].cy, TIP_Y, 2.0f);
    }
    /* NULL hands is the same */
    assert_int_equal(
        nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 0, &o, out, NAIL_MAX, &n, &nh, NULL), 0);
    assert_int_equal(n, 4);
    /* flips without a hand: one more pass each, the same nails */
    o.flips_untracked = NAIL_SEG_FLIP_H | NAIL_SEG_FLIP_HV;
    assert_int_equal(
        nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 0, &o, out, NAIL_MAX, &n, &nh, &fi), 0);
    assert_int_equal(fi.passes, 3);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_float_equal(out[i].cy, TIP_Y, 2.0f);
    /* ... and none with one */
    nail_geom lm = {0};
    lm = (nail_geom){.hand = 0, .finger = 1, .visible = 1, .cx = TIP_X + 40.0f, .cy = TIP_Y,
                     .ax = 0.0f, .ay = -1.0f, .width = 16.0f, .length = 20.0f};
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, &lm, 1, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(fi.passes, 1);
    o.flips_untracked = 8;
    assert_int_equal(nail_seg_frame_opts_validate(&o), LQ_EINVAL);
    o.flips_untracked = 0;
    /* each nail without a hand: a pass around each of the four */
    o.zoom = NAIL_SEG_ZOOM_EACH;
    assert_int_equal(
        nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 0, &o, out, NAIL_MAX, &n, &nh, &fi), 0);
    assert_int_equal(fi.passes, 5);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        assert_int_equal(out[i].hand, -1);
        assert_float_equal(out[i].cy, TIP_Y, 1.5f);
        /* 16 x 20 red ellipse: the zoomed outline is close to it */
        assert_float_equal(out[i].length, 20.0f, 3.0f);
        assert_float_equal(out[i].width, 16.0f, 3.0f);
    }
    o.zoom_grow_untracked = 9.0f;
    assert_int_equal(nail_seg_frame_opts_validate(&o), LQ_EINVAL);
    o.zoom_grow_untracked = 1.5f;
    o.zoom = NAIL_SEG_ZOOM_NAILS;
    /* cap: at most cap nails */
    assert_int_equal(
        nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 0, &o, out, 2, &n, &nh, NULL), 0);
    assert_int_equal(n, 2);
}

static void zoom_segments_the_nails_box(void **state)
{
    fixture *fx = *state;
    nail_geom lm[4], out[NAIL_MAX];
    for (int f = 1; f < 5; f++)
        lm[f - 1] = lm_nail(f, TIP_X + 40.0f * (float)f + 2.0f, TIP_Y + 2.0f);
    int n = 0, nh = 0;
    nail_seg_frame_info fi;
    /* zoom off: the hands' region, one pass */
    nail_seg_frame_opts o = NAIL_SEG_FRAME_OPTS_DEFAULT;
    assert_int_equal(o.zoom, 0);
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    int region[4];
    assert_int_equal(nail_seg_hands_region(&fx->hands, 640, 480, region), 1);
    assert_int_equal(fi.passes, 1);
    assert_int_equal(fi.zoomed, 0);
    assert_memory_equal(fi.box, region, sizeof region);
    assert_int_equal(nh, 4);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].visible, 1);
        assert_true(out[i].cx < lm[i].cx); /* moved toward the red nail */
    }
    float region_cx = out[0].cx;
    /* zoom on: one pass on the nails' box, which is smaller and 4:3 */
    o.zoom = 1;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(fi.passes, 1);
    assert_int_equal(fi.zoomed, 1);
    assert_int_equal(fi.fell_back, 0);
    assert_true(fi.box[2] * fi.box[3] < region[2] * region[3]);
    assert_true(abs(fi.box[2] * 3 - fi.box[3] * 4) <= 8);
    for (int f = 1; f < 5; f++) {
        float x = TIP_X + 40.0f * (float)f;
        assert_true(fi.box[0] < x - 8 && fi.box[0] + fi.box[2] > x + 8);
        assert_true(fi.box[1] < TIP_Y - 10 && fi.box[1] + fi.box[3] > TIP_Y + 10);
    }
    assert_int_equal(nh, 4);
    assert_int_equal(n, 4);
    assert_true(out[0].cx < lm[0].cx);
    assert_float_equal(out[0].cx, region_cx, 1.0f);
    /* each nail: the hands' region, then one pass around each nail */
    o.zoom = NAIL_SEG_ZOOM_EACH;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(fi.passes, 5);
    assert_int_equal(fi.zoomed, 1);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].visible, 1);
        assert_int_equal(out[i].finger, i + 1);
        assert_true(out[i].cx < lm[i].cx);
        assert_float_equal(out[i].cx, TIP_X + 40.0f * (float)(i + 1), 2.0f);
    }
    /* a hidden landmark nail gets no pass */
    lm[2].visible = 0;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(fi.passes, 4);
    assert_int_equal(out[2].visible, 0);
}

static void zoom_falls_back_when_landmarks_miss(void **state)
{
    fixture *fx = *state;
    /* landmark nails 120 px below the red ones: nothing red in their box */
    nail_geom lm[4], out[NAIL_MAX];
    for (int f = 1; f < 5; f++)
        lm[f - 1] = lm_nail(f, TIP_X + 40.0f * (float)f, TIP_Y + 120.0f);
    nail_seg_frame_opts o = NAIL_SEG_FRAME_OPTS_DEFAULT;
    o.zoom = 1;
    int n = 0, nh = 0;
    nail_seg_frame_info fi;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(fi.passes, 2);
    assert_int_equal(fi.zoomed, 1);
    assert_int_equal(fi.fell_back, 1);
    int region[4];
    assert_int_equal(nail_seg_hands_region(&fx->hands, 640, 480, region), 1);
    assert_memory_equal(fi.box, region, sizeof region);
    /* the hands' region holds four confident red nails no landmark nail
     * took: rule 5, the landmark nails are hidden and the blobs are nails */
    assert_int_equal(nh, 4);
    assert_int_equal(n, 8);
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i].visible, 0);
    for (int i = 4; i < 8; i++) {
        assert_int_equal(out[i].hand, -1);
        assert_float_equal(out[i].cy, TIP_Y, 2.0f);
    }
    /* each nail: rule 5 fired on the hands' region, so no pass per nail */
    o.zoom = NAIL_SEG_ZOOM_EACH;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(fi.passes, 1);
    assert_int_equal(fi.zoomed, 0);
    assert_int_equal(n, 8);
    o.zoom = NAIL_SEG_ZOOM_NAILS;
    /* without rule 5 the landmark nails stay */
    o.fuse.distrust_min_blobs = 0;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, &fx->hands, lm, 4, &o, out, NAIL_MAX,
                                         &n, &nh, &fi),
                     0);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].visible, 1);
        assert_memory_equal(&out[i], &lm[i], sizeof lm[i]);
    }
}

static void nails_region_box(void **state)
{
    (void)state;
    nail_geom lm[2] = {lm_nail(1, 100.0f, 100.0f), lm_nail(2, 140.0f, 100.0f)};
    int box[4] = {-7, -7, -7, -7};
    /* extent 90..150 x 90..110 (half the 20 px length), grown by 20: 70..170 x 70..130,
     * then widened to 4:3 around its centre: 100 x 75 at (70, 62.5), whole
     * pixels covering it: 62..138 */
    assert_int_equal(nail_seg_nails_region(lm, 2, 1.0f, 320, 240, 640, 480, box), 1);
    assert_int_equal(box[0], 70);
    assert_int_equal(box[2], 100);
    assert_int_equal(box[1], 62);
    assert_int_equal(box[3], 76);
    /* a tall set of nails gets a 3:4 box */
    nail_geom tall[2] = {lm_nail(1, 100.0f, 100.0f), lm_nail(2, 100.0f, 200.0f)};
    assert_int_equal(nail_seg_nails_region(tall, 2, 0.0f, 320, 240, 640, 480, box), 1);
    assert_true(box[3] > box[2]);
    assert_true(abs(box[2] * 4 - box[3] * 3) <= 8);
    /* at the frame's corner: shifted inside, never cut below its size */
    nail_geom corner = lm_nail(0, 5.0f, 5.0f);
    assert_int_equal(nail_seg_nails_region(&corner, 1, 2.0f, 320, 240, 640, 480, box), 1);
    assert_int_equal(box[0], 0);
    assert_int_equal(box[1], 0);
    assert_true(box[2] >= 32 && box[3] >= 32);
    /* larger than the frame: the frame */
    assert_int_equal(nail_seg_nails_region(lm, 2, 8.0f, 320, 240, 200, 150, box), 1);
    assert_true(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= 200 && box[1] + box[3] <= 150);
    /* nothing visible, bad input: 0, box untouched */
    lm[0].visible = lm[1].visible = 0;
    int keep[4] = {1, 2, 3, 4};
    memcpy(box, keep, sizeof box);
    assert_int_equal(nail_seg_nails_region(lm, 2, 1.0f, 320, 240, 640, 480, box), 0);
    lm[0].visible = 1;
    lm[0].cx = NAN;
    assert_int_equal(nail_seg_nails_region(lm, 2, 1.0f, 320, 240, 640, 480, box), 0);
    lm[0] = lm_nail(1, 100.0f, 100.0f);
    assert_int_equal(nail_seg_nails_region(lm, 2, -1.0f, 320, 240, 640, 480, box), 0);
    assert_int_equal(nail_seg_nails_region(lm, 2, 1.0f, 320, 240, 20, 480, box), 0);
    assert_int_equal(nail_seg_nails_region(NULL, 2, 1.0f, 320, 240, 640, 480, box), 0);
    assert_memory_equal(box, keep, sizeof box);
}

static void bad_arguments(void **state)
{
    fixture *fx = *state;
    nail_seg_frame_opts o = NAIL_SEG_FRAME_OPTS_DEFAULT;
    nail_geom out[NAIL_MAX], lm = lm_nail(1, 100.0f, 100.0f);
    int n = 0, nh = 0;
    assert_int_equal(nail_seg_find_nails(NULL, &fx->img, NULL, NULL, 0, &o, out, NAIL_MAX, &n,
                                         &nh, NULL),
                     LQ_EINVAL);
    assert_int_equal(nail_seg_find_nails(fx->s, NULL, NULL, NULL, 0, &o, out, NAIL_MAX, &n, &nh,
                                         NULL),
                     LQ_EINVAL);
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 1, &o, out, NAIL_MAX, &n,
                                         &nh, NULL),
                     LQ_EINVAL);
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, NULL, &lm, NAIL_MAX + 1, &o, out,
                                         NAIL_MAX, &n, &nh, NULL),
                     LQ_EINVAL);
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 0, &o, NULL, 4, &n, &nh,
                                         NULL),
                     LQ_EINVAL);
    o.zoom = 3;
    assert_int_equal(nail_seg_frame_opts_validate(&o), LQ_EINVAL);
    o.zoom = 1;
    o.zoom_grow = -1.0f;
    assert_int_equal(nail_seg_frame_opts_validate(&o), LQ_EINVAL);
    o.zoom_grow = 1.0f;
    o.hand_region = 3;
    assert_int_equal(nail_seg_find_nails(fx->s, &fx->img, NULL, NULL, 0, &o, out, NAIL_MAX, &n,
                                         &nh, NULL),
                     LQ_EINVAL);
    o.hand_region = 1;
    o.blobs.threshold = 2.0f;
    assert_int_equal(nail_seg_frame_opts_validate(&o), LQ_EINVAL);
    assert_int_equal(nail_seg_frame_opts_validate(NULL), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_hand_segments_the_whole_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(zoom_segments_the_nails_box, setup, teardown),
        cmocka_unit_test_setup_teardown(zoom_falls_back_when_landmarks_miss, setup, teardown),
        cmocka_unit_test(nails_region_box),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
