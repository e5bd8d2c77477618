/* Nail frames from synthetic landmarks: straight fingers, rotations, left and
 * right hands, palm views, curled fingers, degenerate input; the outline's
 * signed distance and rasterization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "nails/geometry.h"
#include "synthetic_hand.h"

#define PI_F 3.14159265f

/* A flat hand seen from the back, fingers pointing up (-y), wrist at
 * (320, 400), thumb on the image's right (lq_test_dorsal_hand). */
static lq_hand dorsal_hand(void)
{
    lq_hand h = lq_test_dorsal_hand(0.0f, 0.0f);
    h.handedness_score = 0.95f;
    h.track_id = 7;
    return h;
}

static void transform(lq_hand *h, float angle, float mirror_x, float mirror_z)
{
    const float cx = 320.0f, cy = 300.0f;
    float c = cosf(angle), s = sinf(angle);
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        lq_point3 *p = &h->lm[i];
        float x = (p->x - cx) * mirror_x, y = p->y - cy;
        p->x = cx + c * x - s * y;
        p->y = cy + s * x + c * y;
        p->z *= mirror_z;
    }
}

static int locate_all(const lq_hand *h, nail_geom *out)
{
    lq_hands hs;
    memset(&hs, 0, sizeof hs);
    hs.count = 1;
    hs.hand[0] = *h;
    nail_locate_opts o = NAIL_LOCATE_OPTS_DEFAULT;
    int n = -1;
    assert_int_equal(nail_geom_from_hands(&hs, &o, out, NAIL_MAX, &n), 0);
    return n;
}

static const nail_geom *finger(const nail_geom *g, int n, int f)
{
    for (int i = 0; i < n; i++)
        if (g[i].finger == f)
            return &g[i];
    return NULL;
}

static void straight_dorsal_fingers_face_the_camera(void **state)
{
    (void)state;
    lq_hand h = dorsal_hand();
    nail_geom g[NAIL_MAX];
    int n = locate_all(&h, g);
    assert_int_equal(n, 5);
    for (int f = 1; f <= 4; f++) {
        const nail_geom *q = finger(g, n, f);
        assert_non_null(q);
        assert_int_equal(q->visible, 1);
        assert_int_equal(q->track_id, 7);
        assert_true(q->facing > 0.9f);
        /* the axis runs up the finger, from cuticle to free edge */
        assert_true(fabsf(q->ax) < 0.02f && q->ay < -0.99f);
        /* the plate sits around the tip landmark, on the distal phalanx */
        const lq_point3 tip = h.lm[LQ_LM_INDEX_TIP + 4 * (f - 1)];
        const lq_point3 dip = h.lm[LQ_LM_INDEX_DIP + 4 * (f - 1)];
        float phal = hypotf(tip.x - dip.x, tip.y - dip.y);
        assert_true(fabsf(q->cx - tip.x) < 0.5f);
        assert_true(fabsf(q->cy - tip.y) < 0.2f * phal);
        assert_true(q->length > 0.5f * phal && q->length < 0.85f * phal);
        assert_true(q->width > 0.4f * phal && q->width < 0.7f * phal);
        assert_true(q->foreshorten > 0.9f && q->foreshorten <= 1.0f);
        assert_true(q->confidence > 0.9f);
        assert_true(q->fit == -1.0f);
    }
    /* in a flat back view the thumb is seen from its side: narrower than face-on */
    const nail_geom *t = finger(g, n, 0);
    assert_non_null(t);
    assert_true(t->facing < finger(g, n, 1)->facing);
    /* a straight thumb (no bend to tell its rotation) lying in the plane of
     * a flat back view: its plate is taken as turned 1.1 rad toward the
     * radial side, so it is painted well under its face-on proportions
     * (~0.83 as wide as long); the previous 0.8 rad painted it 0.67 */
    lq_hand s = dorsal_hand();
    lq_point3 cmc = s.lm[LQ_LM_THUMB_CMC];
    for (int k = 1; k <= 3; k++)
        s.lm[LQ_LM_THUMB_CMC + k] =
            (lq_point3){cmc.x + 30.0f * (float)k, cmc.y - 30.0f * (float)k, cmc.z};
    n = locate_all(&s, g);
    t = finger(g, n, 0);
    assert_non_null(t);
    print_message("straight thumb in a flat back view: facing %.2f, width / length %.2f\n",
                  t->facing, t->width / t->length);
    assert_true(t->facing > 0.3f && t->facing < 0.65f);
    assert_true(t->width < 0.5f * t->length);
}

static void rotation_moves_the_axis_and_keeps_the_sizes(void **state)
{
    (void)state;
    lq_hand ref = dorsal_hand();
    nail_geom g0[NAIL_MAX];
    int n0 = locate_all(&ref, g0);
    for (int k = 1; k < 12; k++) {
        float a = (float)k * PI_F / 6.0f;
        lq_hand h = dorsal_hand();
        transform(&h, a, 1.0f, 1.0f);
        nail_geom g[NAIL_MAX];
        int n = locate_all(&h, g);
        assert_int_equal(n, n0);
        for (int i = 0; i < n; i++) {
            assert_int_equal(g[i].visible, g0[i].visible);
            assert_true(fabsf(g[i].length - g0[i].length) < 1e-2f * g0[i].length);
            assert_true(fabsf(g[i].width - g0[i].width) < 1e-2f * g0[i].width);
            float ex = cosf(a) * g0[i].ax - sinf(a) * g0[i].ay;
            float ey = sinf(a) * g0[i].ax + cosf(a) * g0[i].ay;
            assert_true(fabsf(g[i].ax - ex) < 1e-3f && fabsf(g[i].ay - ey) < 1e-3f);
        }
    }
}

static void left_and_right_hands_mirror_each_other(void **state)
{
    (void)state;
    /* the subject's other hand, also from the back: mirror image, other label */
    lq_hand h = dorsal_hand();
    transform(&h, 0.0f, -1.0f, 1.0f);
    h.handedness = LQ_HAND_LEFT;
    nail_geom g[NAIL_MAX];
    int n = locate_all(&h, g);
    for (int f = 1; f <= 4; f++) {
        const nail_geom *q = finger(g, n, f);
        assert_non_null(q);
        assert_int_equal(q->visible, 1);
        assert_true(q->facing > 0.9f);
    }
}

static void palm_facing_hand_hides_its_nails(void **state)
{
    (void)state;
    /* the same hand turned around (180 degrees about the vertical axis): its
     * image is mirrored, depth reversed, and the label stays the same */
    lq_hand h = dorsal_hand();
    transform(&h, 0.0f, -1.0f, -1.0f);
    nail_geom g[NAIL_MAX];
    int n = locate_all(&h, g);
    for (int i = 0; i < n; i++) {
        if (g[i].finger == 0)
            continue;
        assert_int_equal(g[i].visible, 0);
        assert_true(g[i].facing < 0.0f);
    }
    /* nail_locate keeps visible nails only */
    lq_hands hs;
    memset(&hs, 0, sizeof hs);
    hs.count = 1;
    hs.hand[0] = h;
    nail_locate_opts o = NAIL_LOCATE_OPTS_DEFAULT;
    o.refine = 0;
    int nv = -1;
    assert_int_equal(nail_locate(NULL, &hs, &o, g, NAIL_MAX, &nv), 0);
    for (int i = 0; i < nv; i++)
        assert_int_equal(g[i].finger, 0);
}

static void curled_finger_shows_its_nail_from_the_palm_side(void **state)
{
    (void)state;
    lq_hand h = dorsal_hand();
    transform(&h, 0.0f, -1.0f, -1.0f); /* palm toward the camera */
    /* curl the middle finger toward the camera and back down (a fist) */
    lq_point3 pip = h.lm[LQ_LM_MIDDLE_PIP];
    h.lm[LQ_LM_MIDDLE_DIP] = (lq_point3){pip.x, pip.y + 2.0f, pip.z - 26.0f};
    h.lm[LQ_LM_MIDDLE_TIP] = (lq_point3){pip.x, pip.y + 24.0f, pip.z - 30.0f};
    nail_geom g[NAIL_MAX];
    int n = locate_all(&h, g);
    const nail_geom *m = finger(g, n, 2);
    assert_non_null(m);
    assert_int_equal(m->visible, 1);
    assert_true(m->facing > 0.8f);
    assert_true(m->ay > 0.99f); /* the free edge points down, toward the wrist */
    assert_int_equal(finger(g, n, 1)->visible, 0);
}

/* World landmarks as the landmark model gives them: metric, image axes,
 * here 2000 pixels per metre (a finger is ~17 px thick). */
static void set_world(lq_hand *h)
{
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        h->world[i] = (lq_point3){(h->lm[i].x - 320.0f) / 2000.0f, (h->lm[i].y - 300.0f) / 2000.0f,
                                  h->lm[i].z / 2000.0f};
}

/* The middle finger of a palm-side hand curled into a fist: the proximal
 * phalanx toward the camera, the middle one down, the distal one `away`
 * (pixels of depth per 22 px down) behind its own knuckle. */
static lq_hand palm_side_curl(float away, float down)
{
    lq_hand h = dorsal_hand();
    transform(&h, 0.0f, -1.0f, -1.0f); /* palm toward the camera */
    lq_point3 mcp = h.lm[LQ_LM_MIDDLE_MCP];
    h.lm[LQ_LM_MIDDLE_PIP] = (lq_point3){mcp.x, mcp.y + 4.0f, mcp.z - 40.0f};
    lq_point3 pip = h.lm[LQ_LM_MIDDLE_PIP];
    h.lm[LQ_LM_MIDDLE_DIP] = (lq_point3){pip.x, pip.y + 26.0f, pip.z - 2.0f};
    lq_point3 dip = h.lm[LQ_LM_MIDDLE_DIP];
    h.lm[LQ_LM_MIDDLE_TIP] = (lq_point3){dip.x, dip.y + down, dip.z + away};
    set_world(&h);
    return h;
}

static void fingertip_curled_behind_its_knuckle_is_hidden(void **state)
{
    (void)state;
    /* the distal phalanx tucked in behind the middle one (22 px deep, 8 px
     * down on screen): its plate faces the camera, but the knuckle is in
     * front of it */
    lq_hand h = palm_side_curl(22.0f, 8.0f);
    nail_geom g[NAIL_MAX];
    int n = locate_all(&h, g);
    const nail_geom *m = finger(g, n, 2);
    assert_non_null(m);
    assert_int_equal(m->visible, 0);
    assert_true(m->facing < 0.15f);
    /* the same finger with its tip hanging down in view (a loose fist seen
     * from the palm side: the nail shows below the knuckle) */
    h = palm_side_curl(-4.0f, 22.0f);
    n = locate_all(&h, g);
    m = finger(g, n, 2);
    assert_non_null(m);
    assert_int_equal(m->visible, 1);
    assert_true(m->facing > 0.8f);
    /* without world landmarks there is no depth to judge occlusion by: the
     * tucked-in tip is judged by its facing alone (as before) */
    h = palm_side_curl(22.0f, 8.0f);
    memset(h.world, 0, sizeof h.world);
    n = locate_all(&h, g);
    assert_true(finger(g, n, 2)->facing > 0.15f);
}

static void nail_under_the_thumb_is_hidden(void **state)
{
    (void)state;
    /* back of the hand, the thumb folded across in front of the index
     * fingertip (like a fist's thumb over the fingers) */
    lq_hand h = dorsal_hand();
    lq_point3 it = h.lm[LQ_LM_INDEX_TIP], idp = h.lm[LQ_LM_INDEX_DIP];
    float cx = 0.5f * (it.x + idp.x), cy = 0.5f * (it.y + idp.y);
    h.lm[LQ_LM_THUMB_MCP] = (lq_point3){cx + 60.0f, cy + 20.0f, -30.0f};
    h.lm[LQ_LM_THUMB_IP] = (lq_point3){cx + 25.0f, cy + 5.0f, -40.0f};
    h.lm[LQ_LM_THUMB_TIP] = (lq_point3){cx - 10.0f, cy - 5.0f, -45.0f};
    set_world(&h);
    nail_geom g[NAIL_MAX];
    int n = locate_all(&h, g);
    assert_int_equal(finger(g, n, 1)->visible, 0);
    /* the other fingers are not under it */
    for (int f = 2; f <= 4; f++)
        assert_int_equal(finger(g, n, f)->visible, 1);
    /* the thumb moved aside: the index nail shows again */
    h.lm[LQ_LM_THUMB_TIP].x += 80.0f;
    h.lm[LQ_LM_THUMB_IP].x += 80.0f;
    set_world(&h);
    n = locate_all(&h, g);
    assert_int_equal(finger(g, n, 1)->visible, 1);
}

static void foreshortened_finger_is_shorter_on_screen(void **state)
{
    (void)state;
    lq_hand flat = dorsal_hand(), tilt = dorsal_hand();
    /* index distal phalanx tilted 60 degrees toward the camera */
    lq_point3 dip = tilt.lm[LQ_LM_INDEX_DIP];
    tilt.lm[LQ_LM_INDEX_TIP] = (lq_point3){dip.x, dip.y - 10.0f, dip.z - 17.3f};
    nail_geom a[NAIL_MAX], b[NAIL_MAX];
    int na = locate_all(&flat, a), nb = locate_all(&tilt, b);
    const nail_geom *p = finger(a, na, 1), *q = finger(b, nb, 1);
    assert_true(q->foreshorten > 0.45f && q->foreshorten < 0.55f);
    /* same 3-D phalanx length (20 vs ~20): the projected plate is about half as long */
    assert_true(q->length < 0.6f * p->length);
    assert_true(fabsf(q->width - p->width) < 0.15f * p->width);
    assert_true(q->facing < p->facing);
}

static void degenerate_input_gives_no_nail(void **state)
{
    (void)state;
    nail_geom g[NAIL_MAX];
    nail_locate_opts o = NAIL_LOCATE_OPTS_DEFAULT;
    lq_hands hs;
    int n = -1;

    /* every landmark at one point */
    memset(&hs, 0, sizeof hs);
    hs.count = 1;
    hs.hand[0].presence = 1.0f;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        hs.hand[0].lm[i] = (lq_point3){100.0f, 100.0f, 0.0f};
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_int_equal(n, 0);

    /* NaN, infinity and absurd magnitudes */
    const float bad[3] = {NAN, INFINITY, 1e30f};
    for (int b = 0; b < 3; b++) {
        hs.hand[0] = dorsal_hand();
        hs.hand[0].lm[LQ_LM_RING_TIP].y = bad[b];
        assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
        assert_int_equal(n, 0);
    }
    hs.hand[0] = dorsal_hand();
    hs.hand[0].presence = NAN;
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_int_equal(n, 0);

    /* one finger with coincident DIP and TIP: only that finger is missing */
    hs.hand[0] = dorsal_hand();
    hs.hand[0].lm[LQ_LM_RING_TIP] = hs.hand[0].lm[LQ_LM_RING_DIP];
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_int_equal(n, 4);
    assert_null(finger(g, n, 3));

    /* a phalanx pointing straight at the camera has no image axis */
    hs.hand[0] = dorsal_hand();
    hs.hand[0].lm[LQ_LM_INDEX_TIP] = hs.hand[0].lm[LQ_LM_INDEX_DIP];
    hs.hand[0].lm[LQ_LM_INDEX_TIP].z -= 20.0f;
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_null(finger(g, n, 1));

    /* hand counts out of range are clamped, never read past the array */
    hs.hand[0] = dorsal_hand();
    hs.hand[1] = dorsal_hand();
    hs.count = 1000;
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_int_equal(n, 10);
    hs.count = -3;
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_int_equal(n, 0);

    /* capacity is respected */
    hs.count = 2;
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, 3, &n), 0);
    assert_int_equal(n, 3);

    /* low presence */
    hs.count = 1;
    hs.hand[0].presence = 0.2f;
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, &n), 0);
    assert_int_equal(n, 0);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    lq_hands hs;
    memset(&hs, 0, sizeof hs);
    nail_geom g[NAIL_MAX];
    int n = 0;
    nail_locate_opts o = NAIL_LOCATE_OPTS_DEFAULT;
    assert_int_equal(nail_geom_from_hands(NULL, &o, g, NAIL_MAX, &n), LQ_EINVAL);
    assert_int_equal(nail_geom_from_hands(&hs, NULL, g, NAIL_MAX, &n), LQ_EINVAL);
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, -1, &n), LQ_EINVAL);
    assert_int_equal(nail_geom_from_hands(&hs, &o, g, NAIL_MAX, NULL), LQ_EINVAL);
    /* refinement needs a frame */
    assert_int_equal(nail_locate(NULL, &hs, &o, g, NAIL_MAX, &n), LQ_EINVAL);
    nail_locate_opts bad = o;
    bad.min_facing = 2.0f;
    assert_int_equal(nail_locate_opts_validate(&bad), LQ_EINVAL);
    bad = o;
    bad.min_size_px = NAN;
    assert_int_equal(nail_locate_opts_validate(&bad), LQ_EINVAL);
    bad = o;
    bad.refine = 3;
    assert_int_equal(nail_geom_from_hands(&hs, &bad, g, NAIL_MAX, &n), LQ_EINVAL);
    assert_int_equal(nail_locate_opts_validate(&o), 0);
}

static nail_geom test_nail(float cx, float cy, float angle, float len, float wid)
{
    nail_geom g;
    memset(&g, 0, sizeof g);
    g.visible = 1;
    g.cx = cx;
    g.cy = cy;
    g.ax = cosf(angle);
    g.ay = sinf(angle);
    g.length = len;
    g.width = wid;
    g.cuticle_round = 1.0f;
    g.tip_round = 1.0f;
    return g;
}

static void outline_distance_has_the_right_sign_and_scale(void **state)
{
    (void)state;
    nail_geom g = test_nail(50.0f, 40.0f, 0.3f, 30.0f, 20.0f);
    assert_true(nail_geom_sdf(&g, 50.0f, 40.0f) < -9.0f);
    /* along the axis, the free edge is 15 px from the centre */
    float fx = 50.0f + 15.0f * g.ax, fy = 40.0f + 15.0f * g.ay;
    assert_true(fabsf(nail_geom_sdf(&g, fx, fy)) < 1e-3f);
    assert_true(fabsf(nail_geom_sdf(&g, 50.0f + 20.0f * g.ax, 40.0f + 20.0f * g.ay) - 5.0f) < 1e-3f);
    /* across: 10 px to the side */
    float sx = 50.0f - 10.0f * g.ay, sy = 40.0f + 10.0f * g.ax;
    assert_true(fabsf(nail_geom_sdf(&g, sx, sy)) < 1e-3f);
    /* half widths: full in the middle, zero past the ends, narrower at rounded ends */
    assert_true(fabsf(nail_geom_half_width(30, 20, 1, 1, 0) - 10.0f) < 1e-4f);
    assert_true(nail_geom_half_width(30, 20, 1, 1, 15.5f) == 0.0f);
    assert_true(nail_geom_half_width(30, 20, 1, 1, 14.0f) < 6.0f);
    assert_true(fabsf(nail_geom_half_width(30, 20, 0, 0, 14.9f) - 10.0f) < 1e-4f);
}

static void rasterized_area_matches_the_shape(void **state)
{
    (void)state;
    const int w = 120, h = 100;
    uint8_t *mask = malloc((size_t)w * h);
    assert_non_null(mask);
    /* a flat-ended box: 40 x 20 = 800 px; fully rounded: 800 - (4 - pi) * 10^2 */
    nail_geom g = test_nail(60.0f, 50.0f, 0.7f, 40.0f, 20.0f);
    g.cuticle_round = g.tip_round = 0.0f;
    assert_int_equal(nail_geom_rasterize(&g, 1, mask, w, h, w), 0);
    long area = 0;
    for (int i = 0; i < w * h; i++)
        area += mask[i] == 255;
    assert_true(labs(area - 800) < 40);
    g.cuticle_round = g.tip_round = 1.0f;
    assert_int_equal(nail_geom_rasterize(&g, 1, mask, w, h, w), 0);
    area = 0;
    for (int i = 0; i < w * h; i++) {
        assert_true(mask[i] == 0 || mask[i] == 255);
        area += mask[i] == 255;
    }
    double expect = 800.0 - (4.0 - 3.14159265) * 100.0;
    assert_true(fabs((double)area - expect) < 40.0);

    /* hidden nails are not drawn; nails off the frame are clipped */
    g.visible = 0;
    assert_int_equal(nail_geom_rasterize(&g, 1, mask, w, h, w), 0);
    for (int i = 0; i < w * h; i++)
        assert_int_equal(mask[i], 0);
    nail_geom edge[2] = {test_nail(-5.0f, 50.0f, 0.0f, 30.0f, 20.0f),
                         test_nail(1e6f, 1e6f, 0.0f, 30.0f, 20.0f)};
    assert_int_equal(nail_geom_rasterize(edge, 2, mask, w, h, w), 0);
    area = 0;
    for (int i = 0; i < w * h; i++)
        area += mask[i] == 255;
    assert_true(area > 100 && area < 300);
    nail_geom nan_nail = test_nail(NAN, 50.0f, 0.0f, 30.0f, 20.0f);
    assert_int_equal(nail_geom_rasterize(&nan_nail, 1, mask, w, h, w), 0);

    assert_int_equal(nail_geom_rasterize(&g, 1, NULL, w, h, w), LQ_EINVAL);
    assert_int_equal(nail_geom_rasterize(&g, 1, mask, 0, h, w), LQ_EINVAL);
    assert_int_equal(nail_geom_rasterize(&g, 1, mask, w, h, w - 1), LQ_EINVAL);
    assert_int_equal(nail_geom_rasterize(NULL, 1, mask, w, h, w), LQ_EINVAL);
    free(mask);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(straight_dorsal_fingers_face_the_camera),
        cmocka_unit_test(rotation_moves_the_axis_and_keeps_the_sizes),
        cmocka_unit_test(left_and_right_hands_mirror_each_other),
        cmocka_unit_test(palm_facing_hand_hides_its_nails),
        cmocka_unit_test(curled_finger_shows_its_nail_from_the_palm_side),
        cmocka_unit_test(fingertip_curled_behind_its_knuckle_is_hidden),
        cmocka_unit_test(nail_under_the_thumb_is_hidden),
        cmocka_unit_test(foreshortened_finger_is_shorter_on_screen),
        cmocka_unit_test(degenerate_input_gives_no_nail),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(outline_distance_has_the_right_sign_and_scale),
        cmocka_unit_test(rasterized_area_matches_the_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
