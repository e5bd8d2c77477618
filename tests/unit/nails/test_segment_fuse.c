/* test_segment_fuse.c - landmark nails + segmentation blobs, and the smoother
 * of nails found by segmentation alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "lq_test.h"
#include "nails/segment_fuse.h"
#include "synthetic_hand.h"

/* One hand whose fingers point up; finger f's tip at (100 + 40 f, 100),
 * DIP 30 px below it. */
static void make_hand(lq_hands *hs)
{
    lq_test_fingers_up_hands(hs, 100.0f, 100.0f, 300.0f, 400.0f, 7);
}

static nail_geom lm_nail(int finger, float cx, float cy)
{
    return lq_test_upright_nail(7, finger, cx, cy, 14.0f, 18.0f);
}

static nail_seg_blob blob(float cx, float cy, float ax, float ay, float len, float wid,
                          float conf)
{
    nail_seg_blob b;
    memset(&b, 0, sizeof b);
    b.cx = cx;
    b.cy = cy;
    b.ax = ax;
    b.ay = ay;
    b.length = len;
    b.width = wid;
    b.area = 0.85f * len * wid;
    b.elongation = len / wid;
    b.confidence = conf;
    b.dir_source = NAIL_SEG_DIR_UPRIGHT;
    return b;
}

static void fuses_matching_blobs_and_keeps_the_rest(void **state)
{
    (void)state;
    lq_hands hs;
    make_hand(&hs);
    nail_geom lm[3] = {lm_nail(1, 140.0f, 104.0f), lm_nail(2, 180.0f, 104.0f),
                       lm_nail(3, 220.0f, 104.0f)};
    float s = sqrtf(0.5f);
    nail_seg_blob b[5] = {
        /* index: close to the landmark nail, tilted, pointing DOWN (wrong sign) */
        blob(143.0f, 101.0f, s * 0.4f, s * 1.3f, 20.0f, 13.0f, 0.9f),
        /* middle: 3x the plate's length: merged with skin, refused */
        blob(181.0f, 110.0f, 0.0f, -1.0f, 60.0f, 40.0f, 0.95f),
        /* far from every hand: a nail of its own, unknown finger */
        blob(500.0f, 300.0f, 0.0f, -1.0f, 20.0f, 14.0f, 0.8f),
        /* at the pinky tip, which has no landmark nail: joins that finger */
        blob(262.0f, 103.0f, 0.0f, 1.0f, 16.0f, 12.0f, 0.85f),
        /* weak and alone: dropped */
        blob(50.0f, 400.0f, 1.0f, 0.0f, 20.0f, 14.0f, 0.3f),
    };
    nail_seg_fuse_opts o = NAIL_SEG_FUSE_OPTS_DEFAULT;
    nail_geom out[NAIL_MAX];
    int n = 0, nh = 0;
    /* defaults: no nail from the blob at the pinky tip (its landmark nail
     * faces away) nor from the lone blob (a hand is tracked) */
    nail_seg_blob b0[5];
    memcpy(b0, b, sizeof b);
    assert_int_equal(nail_seg_fuse(lm, 3, b0, 5, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 3);
    /* with tip orphans, while a hand is tracked a nail of its own needs 0.85:
     * the pinky blob (0.85) is one, the lone blob (0.8) is not */
    o.tip_orphans = 1;
    memcpy(b0, b, sizeof b);
    assert_int_equal(nail_seg_fuse(lm, 3, b0, 5, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(nh, 4);
    assert_int_equal(n, 4);
    assert_int_equal(out[3].finger, 4);
    o.tip_orphans = 0;
    /* a blend of 0.5: a 0.9-confident blob moves the nail half way (the
     * default, 0.35, was chosen by cross-validation; the arithmetic is the same) */
    o.blob_weight = 0.5f;
    memcpy(b0, b, sizeof b);
    assert_int_equal(nail_seg_fuse(lm, 3, b0, 5, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(out[0].finger, 1);
    assert_float_equal(out[0].cx, 141.5f, 1e-4f);
    assert_float_equal(out[0].length, sqrtf(18.0f * 20.0f), 1e-3f);
    /* with a lower bar and the blob's outline taken whole */
    o.tip_orphans = 1;
    o.min_orphan_conf_hand = 0.6f;
    o.blob_weight = 1.0f;
    assert_int_equal(nail_seg_fuse(lm, 3, b, 5, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 4); /* the lone blob is away from the tracked hand */
    o.far_orphans = 1;
    assert_int_equal(nail_seg_fuse(lm, 3, b, 5, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(nh, 4);
    assert_int_equal(n, 5);
    /* index took the blob: centre, sizes, axis (sign from DIP->TIP: up) */
    assert_int_equal(out[0].finger, 1);
    assert_int_equal(out[0].hand, 0);
    assert_int_equal(out[0].track_id, 7);
    assert_float_equal(out[0].cx, 143.0f, 1e-4f);
    assert_float_equal(out[0].length, 20.0f, 1e-4f);
    assert_true(out[0].ay < -0.9f);
    assert_float_equal(out[0].confidence, 0.85f, 1e-5f);
    assert_float_equal(out[0].fit, 0.9f, 1e-5f);
    assert_float_equal(out[0].facing, 0.9f, 1e-6f);
    assert_int_equal(b[0].dir_source, NAIL_SEG_DIR_LANDMARKS);
    /* middle kept its landmark geometry */
    assert_float_equal(out[1].cx, 180.0f, 0.0f);
    assert_float_equal(out[1].length, 18.0f, 0.0f);
    /* ring: no blob, unchanged */
    assert_memory_equal(&out[2], &lm[2], sizeof lm[2]);
    /* pinky from the blob at its tip, axis turned up */
    assert_int_equal(out[3].finger, 4);
    assert_int_equal(out[3].hand, 0);
    assert_int_equal(out[3].track_id, 7);
    assert_true(out[3].ay < -0.99f);
    /* the lone blob */
    assert_int_equal(out[4].finger, -1);
    assert_int_equal(out[4].hand, -1);
    assert_float_equal(out[4].cx, 500.0f, 0.0f);
    assert_int_equal(out[4].visible, 1);

    /* orphans off */
    o.orphans = 0;
    assert_int_equal(nail_seg_fuse(lm, 3, b, 5, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 3);
    assert_int_equal(nh, 3);
    /* no landmarks at all: the confident blobs only */
    o.orphans = 1;
    nail_seg_blob b2[5];
    memcpy(b2, b, sizeof b);
    assert_int_equal(nail_seg_fuse(NULL, 0, b2, 5, NULL, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 4);
    assert_int_equal(nh, 0);
    /* a thin streak is not a nail of its own */
    nail_seg_blob streak = blob(300.0f, 300.0f, 0.0f, -1.0f, 40.0f, 10.0f, 0.95f);
    assert_int_equal(nail_seg_fuse(NULL, 0, &streak, 1, NULL, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 0);
    o.max_orphan_elongation = 5.0f;
    assert_int_equal(nail_seg_fuse(NULL, 0, &streak, 1, NULL, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 1);
    /* cap is respected */
    assert_int_equal(nail_seg_fuse(NULL, 0, b2, 5, NULL, &o, out, 2, &n, &nh), 0);
    assert_int_equal(n, 2);
    /* bad input */
    assert_int_equal(nail_seg_fuse(lm, -1, b, 5, &hs, &o, out, NAIL_MAX, &n, &nh), LQ_EINVAL);
    assert_int_equal(nail_seg_fuse(lm, 3, b, 17, &hs, &o, out, NAIL_MAX, &n, &nh), LQ_EINVAL);
    o.match_dist = 0.0f;
    assert_int_equal(nail_seg_fuse(lm, 3, b, 5, &hs, &o, out, NAIL_MAX, &n, &nh), LQ_EINVAL);
}

/* A blob whose axis disagrees with the landmarks (e.g. two nails merged
 * side by side) keeps the landmark axis but takes the blob's place and area. */
static void disagreeing_axis_keeps_landmark_axis(void **state)
{
    (void)state;
    lq_hands hs;
    make_hand(&hs);
    nail_geom lm = lm_nail(2, 180.0f, 104.0f);
    nail_seg_blob b = blob(182.0f, 104.0f, 1.0f, 0.0f, 22.0f, 14.0f, 0.9f);
    nail_seg_fuse_opts o = NAIL_SEG_FUSE_OPTS_DEFAULT;
    o.blob_weight = 1.0f;
    nail_geom out[4];
    int n = 0, nh = 0;
    assert_int_equal(nail_seg_fuse(&lm, 1, &b, 1, &hs, &o, out, 4, &n, &nh), 0);
    assert_int_equal(n, 1);
    assert_float_equal(out[0].ax, 0.0f, 0.0f);
    assert_float_equal(out[0].ay, -1.0f, 0.0f);
    assert_float_equal(out[0].cx, 182.0f, 0.0f);
    assert_float_equal(out[0].width * out[0].length, 22.0f * 14.0f, 0.5f);
}

/* A thin blob in the gap beside a finger, as close to the nail's centre as
 * the nail is wide, does not take the nail over: the outlines barely overlap. */
static void blob_beside_the_nail_is_not_its_outline(void **state)
{
    (void)state;
    lq_hands hs;
    make_hand(&hs);
    nail_geom lm = lm_nail(2, 180.0f, 104.0f);
    nail_seg_blob b = blob(194.0f, 106.0f, 0.0f, -1.0f, 20.0f, 6.0f, 0.9f);
    nail_seg_fuse_opts o = NAIL_SEG_FUSE_OPTS_DEFAULT;
    o.blob_weight = 1.0f;
    nail_geom out[4];
    int n = 0, nh = 0;
    assert_int_equal(nail_seg_fuse(&lm, 1, &b, 1, &hs, &o, out, 4, &n, &nh), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(&out[0], &lm, sizeof lm);
    /* the same blob on the nail is taken */
    b.cx = 181.0f;
    b.width = 12.0f;
    b.area = 0.85f * 20.0f * 12.0f;
    b.elongation = 20.0f / 12.0f;
    assert_int_equal(nail_seg_fuse(&lm, 1, &b, 1, &hs, &o, out, 4, &n, &nh), 0);
    assert_float_equal(out[0].cx, 181.0f, 0.0f);
}

static void hands_region_covers_the_fingertips(void **state)
{
    (void)state;
    lq_hands hs;
    make_hand(&hs);
    int box[4] = {0, 0, 0, 0};
    /* landmarks span x 100..300, y 100..400: grown by 75 px, clipped */
    assert_int_equal(nail_seg_hands_region(&hs, 640, 480, box), 1);
    assert_int_equal(box[0], 25);
    assert_int_equal(box[1], 25);
    assert_int_equal(box[2], 375 - 25);
    assert_int_equal(box[3], 475 - 25);
    hs.count = 0;
    assert_int_equal(nail_seg_hands_region(&hs, 640, 480, box), 0);
    assert_int_equal(nail_seg_hands_region(NULL, 640, 480, box), 0);
    /* a tiny hand in a corner: at least 32 px, inside the frame */
    make_hand(&hs);
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        hs.hand[0].lm[i] = (lq_point3){638.0f + 0.01f * (float)i, 478.0f, 0.0f};
    assert_int_equal(nail_seg_hands_region(&hs, 640, 480, box), 1);
    assert_int_equal(box[2], 32);
    assert_int_equal(box[3], 32);
    assert_true(box[0] + box[2] <= 640 && box[1] + box[3] <= 480);
}

/* Rule 5: landmark nails that take no blob while confident nail-shaped
 * blobs sit elsewhere are not believed (a hand seen from the back taken for
 * its palm side); one strong blob, or one landmark nail that matches, is
 * not enough. */
static void landmarks_missing_every_nail_give_way_to_blobs(void **state)
{
    (void)state;
    lq_hands hs;
    make_hand(&hs);
    /* landmark nails at the fingertips; the blobs 150 px below them */
    nail_geom lm[2] = {lm_nail(1, 140.0f, 104.0f), lm_nail(2, 180.0f, 104.0f)};
    nail_seg_blob b[4] = {
        blob(140.0f, 254.0f, 0.0f, -1.0f, 20.0f, 15.0f, 0.95f),
        blob(180.0f, 254.0f, 0.0f, -1.0f, 20.0f, 15.0f, 0.9f),
        blob(220.0f, 254.0f, 0.0f, -1.0f, 20.0f, 15.0f, 0.7f), /* weak: a nail, not a vote */
        blob(260.0f, 254.0f, 0.0f, -1.0f, 60.0f, 12.0f, 0.95f), /* a streak: neither */
    };
    nail_seg_fuse_opts o = NAIL_SEG_FUSE_OPTS_DEFAULT;
    assert_int_equal(o.distrust_min_blobs, 2);
    nail_geom out[NAIL_MAX];
    int n = 0, nh = 0;
    nail_seg_blob bb[4];
    memcpy(bb, b, sizeof b);
    assert_int_equal(nail_seg_fuse(lm, 2, bb, 4, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    /* the landmark nails stay in place, hidden; three blobs become nails */
    assert_int_equal(nh, 2);
    assert_int_equal(n, 5);
    assert_int_equal(out[0].visible, 0);
    assert_int_equal(out[1].visible, 0);
    assert_int_equal(out[0].finger, 1);
    assert_float_equal(out[0].cx, 140.0f, 0.0f);
    for (int i = 2; i < 5; i++) {
        assert_int_equal(out[i].hand, -1);
        assert_int_equal(out[i].finger, -1);
        assert_int_equal(out[i].visible, 1);
        assert_float_equal(out[i].cy, 254.0f, 1e-4f);
    }
    /* off: as before, a tracked hand's far blobs make no nail */
    o.distrust_min_blobs = 0;
    memcpy(bb, b, sizeof b);
    assert_int_equal(nail_seg_fuse(lm, 2, bb, 4, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].visible, 1);
    /* a higher bar than the strong blobs there are */
    o.distrust_min_blobs = 3;
    memcpy(bb, b, sizeof b);
    assert_int_equal(nail_seg_fuse(lm, 2, bb, 4, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].visible, 1);
    /* one landmark nail that takes a blob: the landmarks are believed */
    o.distrust_min_blobs = 2;
    memcpy(bb, b, sizeof b);
    bb[3] = blob(141.0f, 104.0f, 0.0f, -1.0f, 18.0f, 14.0f, 0.9f);
    assert_int_equal(nail_seg_fuse(lm, 2, bb, 4, &hs, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].visible, 1);
    assert_int_equal(out[1].visible, 1);
    assert_true(out[0].cx > 140.0f);
    /* no hand tracked: the rule does not apply, blobs are nails anyway */
    memcpy(bb, b, sizeof b);
    assert_int_equal(nail_seg_fuse(NULL, 0, bb, 4, NULL, &o, out, NAIL_MAX, &n, &nh), 0);
    assert_int_equal(n, 3);
    assert_int_equal(nh, 0);
    /* out of range */
    o.distrust_min_blobs = NAIL_SEG_MAX_BLOBS + 1;
    assert_int_equal(nail_seg_fuse_opts_validate(&o), LQ_EINVAL);
    o.distrust_min_blobs = -1;
    assert_int_equal(nail_seg_fuse(lm, 2, bb, 4, &hs, &o, out, NAIL_MAX, &n, &nh), LQ_EINVAL);
    /* the fusion memory keeps a hidden nail hidden and learns nothing from it */
    nail_seg_fuse_memory *m = NULL;
    assert_int_equal(nail_seg_fuse_memory_create(&m), 0);
    nail_geom hidden = lm[0];
    hidden.visible = 0;
    nail_seg_fuse_memory_apply(m, &lm[0], &hidden, 1);
    assert_int_equal(hidden.visible, 0);
    assert_float_equal(hidden.cx, 140.0f, 1e-5f);
    nail_geom shown = lm[0];
    nail_seg_fuse_memory_apply(m, &lm[0], &shown, 1);
    assert_int_equal(shown.visible, 1);
    assert_float_equal(shown.cx, 140.0f, 1e-5f);
    nail_seg_fuse_memory_destroy(m);
}

/* A blob found on every other frame: without memory the nail jumps 2 px
 * back and forth; with it the correction builds up and holds steady. */
static void fusion_memory_keeps_outlines_steady(void **state)
{
    (void)state;
    lq_hands hs;
    make_hand(&hs);
    nail_seg_fuse_memory *m = NULL;
    assert_int_equal(nail_seg_fuse_memory_create(&m), 0);
    nail_geom lm = lm_nail(2, 180.0f, 104.0f), out[4];
    nail_seg_fuse_opts o = NAIL_SEG_FUSE_OPTS_DEFAULT;
    o.blob_weight = 0.5f; /* the figures below are for a half-way blend */
    float prev = 0.0f, maxstep = 0.0f, sum = 0.0f;
    for (int f = 0; f < 40; f++) {
        nail_seg_blob b = blob(184.0f, 104.0f, 0.0f, -1.0f, 18.0f, 14.0f, 0.9f);
        int n = 0, nh = 0;
        assert_int_equal(nail_seg_fuse(&lm, 1, &b, f % 2, &hs, &o, out, 4, &n, &nh), 0);
        assert_int_equal(n, 1);
        if (f % 2)
            assert_float_equal(out[0].cx, 182.0f, 1e-3f); /* this frame alone */
        else
            assert_float_equal(out[0].cx, 180.0f, 0.0f);
        nail_seg_fuse_memory_apply(m, &lm, out, 1);
        assert_int_equal(out[0].finger, 2);
        assert_float_equal(out[0].cy, 104.0f, 1e-3f);
        if (f >= 20) {
            maxstep = fmaxf(maxstep, fabsf(out[0].cx - prev));
            sum += out[0].cx;
        }
        prev = out[0].cx;
    }
    assert_true(maxstep < 0.6f);
    assert_true(sum / 20.0f > 180.5f && sum / 20.0f < 182.0f);
    /* another finger has its own correction: none yet */
    nail_geom other = lm_nail(3, 220.0f, 104.0f), o2 = other;
    nail_seg_fuse_memory_apply(m, &other, &o2, 1);
    assert_float_equal(o2.cx, 220.0f, 1e-4f);
    /* reset forgets */
    nail_seg_fuse_memory_reset(m);
    out[0] = lm;
    nail_seg_fuse_memory_apply(m, &lm, out, 1);
    assert_float_equal(out[0].cx, 180.0f, 1e-4f);
    nail_seg_fuse_memory_destroy(m);
}

static void track_keeps_ids_and_smooths(void **state)
{
    (void)state;
    nail_seg_track *t = NULL;
    assert_int_equal(nail_seg_track_create(&t), 0);
    nail_seg_blob b = blob(300.0f, 200.0f, 0.0f, -1.0f, 40.0f, 30.0f, 0.9f);
    nail_geom g[2], out[NAIL_SEG_TRACK_MAX];
    nail_seg_blob_to_geom(&b, &g[0]);
    b.cx = 100.0f;
    nail_seg_blob_to_geom(&b, &g[1]);
    int n = 0;
    assert_int_equal(nail_seg_track_update(t, 1000, g, 2, out, NAIL_SEG_TRACK_MAX, &n), 0);
    assert_int_equal(n, 2);
    int id0 = out[0].cx > 200.0f ? out[0].track_id : out[1].track_id;
    assert_true(id0 >= NAIL_SEG_TRACK_ID_BASE);
    assert_true(out[0].track_id != out[1].track_id);
    /* jitter of +-1 px on a still nail, and the axis sign flipping: the
     * output moves far less and keeps its sign */
    double sum_in = 0, sum_out = 0;
    float last = 300.0f;
    for (int f = 1; f <= 40; f++) {
        nail_geom in = g[0];
        in.cx = 300.0f + ((f & 1) ? 1.0f : -1.0f);
        if (f % 3 == 0) {
            in.ax = -in.ax;
            in.ay = -in.ay;
        }
        assert_int_equal(nail_seg_track_update(t, 1000 + f * 40000, &in, 1, out, 4, &n), 0);
        int k = out[0].track_id == id0 ? 0 : 1;
        assert_int_equal(out[k].track_id, id0);
        assert_true(out[k].ay < -0.99f);
        if (f > 10) {
            sum_in += 4.0;
            sum_out += (out[k].cx - last) * (out[k].cx - last);
        }
        last = out[k].cx;
    }
    assert_true(sum_out < 0.25 * sum_in);
    /* the second nail, gone since frame 1, was dropped after its hold */
    assert_int_equal(n, 1);
    /* missing for hold frames: still shown, then dropped */
    assert_int_equal(nail_seg_track_update(t, 3000000, NULL, 0, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(nail_seg_track_update(t, 3040000, NULL, 0, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(nail_seg_track_update(t, 3080000, NULL, 0, out, 4, &n), 0);
    assert_int_equal(n, 0);
    /* a new nail gets a new id; time going back resets */
    assert_int_equal(nail_seg_track_update(t, 3120000, g, 1, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_true(out[0].track_id != id0);
    assert_int_equal(nail_seg_track_update(t, 10, NULL, 0, out, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(nail_seg_track_update(t, 20, g, -1, out, 4, &n), LQ_EINVAL);
    nail_seg_track_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuses_matching_blobs_and_keeps_the_rest),
        cmocka_unit_test(disagreeing_axis_keeps_landmark_axis),
        cmocka_unit_test(blob_beside_the_nail_is_not_its_outline),
        cmocka_unit_test(hands_region_covers_the_fingertips),
        cmocka_unit_test(fusion_memory_keeps_outlines_steady),
        cmocka_unit_test(landmarks_missing_every_nail_give_way_to_blobs),
        cmocka_unit_test(track_keeps_ids_and_smooths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
