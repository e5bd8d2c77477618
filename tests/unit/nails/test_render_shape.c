/*
 * test_render_shape.c - the outlines of src/nails/render_shape.c, checked
 * against brute force: the distance field is accurate near the outline (what
 * anti-aliasing needs), has no false edges inside (seams between its
 * primitives), follows the natural plate up to where the design's tip takes
 * over, ends at the requested length, and agrees with the half-width profile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "nails/render_internal.h"

#define STEP 0.125f /* brute-force grid, nail-space pixels */

typedef struct outline {
    int n;
    float *u, *v; /* boundary points (sign changes of the field on the grid) */
} outline;

static void setup(nail__shape *s, nail_shape kind, float width, float length, float fs,
                  float factor, float cround, float tround)
{
    nail_geom g;
    memset(&g, 0, sizeof g);
    g.width = width;
    g.length = length;
    g.foreshorten = fs;
    g.cuticle_round = cround;
    g.tip_round = tround;
    nail_style st;
    memset(&st, 0, sizeof st);
    st.shape = kind;
    st.length = factor;
    nail__shape_setup(s, &g, &st, fs);
}

/* Frame-pixel coordinates (w = v * fs) of the outline's boundary. */
static outline trace(const nail__shape *s)
{
    outline o = {0, NULL, NULL};
    int nu = (int)((2.0f * s->hw + 4.0f) / STEP), nv = (int)((s->T + 4.0f) / STEP);
    o.u = malloc(sizeof(float) * (size_t)(nu * nv));
    o.v = malloc(sizeof(float) * (size_t)(nu * nv));
    assert_non_null(o.u);
    assert_non_null(o.v);
    for (int j = 0; j < nv; j++) {
        for (int i = 0; i < nu; i++) {
            float u = -s->hw - 2.0f + (float)i * STEP, v = -2.0f + (float)j * STEP;
            int in = nail__shape_sdf(s, u, v) < 0.0f;
            int in_r = nail__shape_sdf(s, u + STEP, v) < 0.0f;
            int in_d = nail__shape_sdf(s, u, v + STEP) < 0.0f;
            if (in != in_r || in != in_d) {
                o.u[o.n] = u + 0.5f * STEP;
                o.v[o.n] = (v + 0.5f * STEP) * s->fs;
                o.n++;
            }
        }
    }
    return o;
}

/* Distance in frame pixels from (u, v) (nail space) to the traced outline. */
static float true_distance(const outline *o, float u, float v, float fs)
{
    float best = 1e30f, w = v * fs;
    for (int k = 0; k < o->n; k++) {
        float du = o->u[k] - u, dw = o->v[k] - w;
        float d = du * du + dw * dw;
        best = d < best ? d : best;
    }
    return sqrtf(best);
}

/* The painter's conversion to frame pixels. */
static float frame_sdf(const nail__shape *s, float u, float v)
{
    return nail__shape_frame_distance(s, u, v, nail__shape_sdf(s, u, v));
}

static void check_shape(nail_shape kind, float fs, float factor)
{
    nail__shape s;
    setup(&s, kind, 22.0f, 26.0f, fs, factor, 0.9f, 0.8f);
    outline o = trace(&s);
    assert_true(o.n > 50);
    srand(1234u + (unsigned)kind);
    int near = 0, deep = 0;
    for (int k = 0; k < 3000; k++) {
        float u = -s.hw - 1.5f + (2.0f * s.hw + 3.0f) * (float)rand() / (float)RAND_MAX;
        float v = -1.5f / fs + (s.T + 3.0f / fs) * (float)rand() / (float)RAND_MAX;
        float d = frame_sdf(&s, u, v);
        float t = true_distance(&o, u, v, fs) * (d < 0.0f ? -1.0f : 1.0f);
        if (fabsf(t) < 2.0f) {
            /* near the outline the field is a distance: anti-aliasing (the
             * last pixel) is right, the edge effects (2 px) nearly so */
            if (fabsf(d - t) > (fabsf(t) < 1.0f ? 0.25f : 0.5f))
                fail_msg("%s fs %.2f x%.1f: at (%.2f, %.2f) field %.3f, true %.3f",
                         nail_shape_name(kind), fs, factor, u, v, d, t);
            near++;
        } else if (t < -1.0f) {
            /* inside, away from the outline: never a false edge */
            if (d > -0.6f)
                fail_msg("%s fs %.2f x%.1f: false edge inside at (%.2f, %.2f): %.3f",
                         nail_shape_name(kind), fs, factor, u, v, d);
            deep++;
        }
    }
    assert_true(near > 100);
    assert_true(deep > 100);
    free(o.u);
    free(o.v);
}

static void field_is_a_distance_without_false_edges(void **state)
{
    (void)state;
    const float fss[] = {1.0f, 0.7f};
    const float factors[] = {1.0f, 1.3f, 2.0f};
    for (int k = 0; k < NAIL_SHAPE_COUNT; k++)
        for (int f = 0; f < 2; f++)
            for (int l = 0; l < 3; l++)
                check_shape((nail_shape)k, fss[f], factors[l]);
}

/* Up to where the design's tip begins, the painted outline is the natural
 * plate's (cuticle corners included): polish covers the nail, not the skin
 * around its base. */
static void base_follows_the_natural_plate(void **state)
{
    (void)state;
    for (int k = 0; k < NAIL_SHAPE_COUNT; k++) {
        for (int r = 0; r <= 4; r++) {
            nail__shape s;
            float cr = 0.25f * (float)r;
            setup(&s, (nail_shape)k, 20.0f, 24.0f, 0.85f, 1.5f, cr, 0.7f);
            float vmax = s.vt < s.L - s.ntr ? s.vt : s.L - s.ntr;
            for (float v = -1.0f; v < vmax; v += 0.2f) {
                for (float u = -s.hw - 1.0f; u <= s.hw + 1.0f; u += 0.2f) {
                    float a = nail__shape_sdf(&s, u, v), b = nail__plate_sdf(&s, u, v);
                    if (fabsf(b) < 0.15f)
                        continue; /* right on the outline: rounding */
                    if ((a < 0.0f) != (b < 0.0f))
                        fail_msg("%s cuticle %.2f: (%.1f, %.1f) painted %.3f, plate %.3f",
                                 nail_shape_name((nail_shape)k), cr, u, v, a, b);
                }
            }
        }
    }
}

/* The outline ends at the requested length, on the axis. */
static void tip_at_the_requested_length(void **state)
{
    (void)state;
    const float factors[] = {0.8f, 1.0f, 1.3f, 1.7f, 2.2f};
    for (int k = 0; k < NAIL_SHAPE_COUNT; k++) {
        for (int i = 0; i < 5; i++) {
            nail__shape s;
            setup(&s, (nail_shape)k, 20.0f, 24.0f, 0.9f, factors[i], 0.8f, 0.8f);
            float want = (24.0f / 0.9f) * (factors[i] > 1.0f ? factors[i] : 1.0f);
            assert_float_equal(s.T, want, 1e-3);
            assert_true(nail__shape_sdf(&s, 0.0f, s.T - 0.3f) < 0.0f);
            assert_true(nail__shape_sdf(&s, 0.0f, s.T + 0.3f) > 0.0f);
            assert_true(nail__shape_sdf(&s, 0.0f, -0.3f) > 0.0f);
            assert_true(nail__shape_sdf(&s, 0.0f, 0.3f) < 0.0f);
        }
    }
}

/* nail__shape_halfwidth (used for shading across a tapering tip) agrees
 * with the field. */
static void halfwidth_matches_the_outline(void **state)
{
    (void)state;
    for (int k = 0; k < NAIL_SHAPE_COUNT; k++) {
        nail__shape s;
        setup(&s, (nail_shape)k, 24.0f, 26.0f, 1.0f, 1.6f, 0.8f, 0.8f);
        nail__shape_tabulate(&s);
        for (float v = s.vt + 0.5f; v < s.T - 1.0f; v += 0.5f) {
            float w = nail__shape_halfwidth(&s, v);
            assert_true(w > 0.0f && w <= s.hw + 1e-3f);
            float in = nail__shape_sdf(&s, w - 0.4f, v), out = nail__shape_sdf(&s, w + 0.4f, v);
            if (!(in < 0.0f && out > 0.0f))
                fail_msg("%s: half width %.2f at v %.2f (T %.2f), field %.3f / %.3f",
                         nail_shape_name((nail_shape)k), w, v, s.T, in, out);
        }
        assert_float_equal(nail__shape_halfwidth(&s, s.T + 1.0f), 0.0f, 1e-6);
        assert_float_equal(nail__shape_halfwidth(&s, 0.5f * s.vt), s.hw, 1e-6);
    }
}

/* Degenerate inputs still give a usable outline, never NaN. */
static void odd_proportions_stay_finite(void **state)
{
    (void)state;
    const float dims[][2] = {{2.0f, 2.0f}, {40.0f, 5.0f}, {5.0f, 40.0f}, {1.0f, 60.0f}};
    for (int k = 0; k < NAIL_SHAPE_COUNT; k++) {
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
            nail__shape s;
            setup(&s, (nail_shape)k, dims[d][0], dims[d][1], 0.25f, 3.0f, 1.0f, 1.0f);
            nail__shape_tabulate(&s);
            for (float v = -2.0f; v < s.T + 2.0f; v += 0.37f)
                for (float u = -s.hw - 2.0f; u < s.hw + 2.0f; u += 0.29f) {
                    float a = nail__shape_sdf(&s, u, v);
                    assert_false(isnan(a));
                    assert_false(isnan(nail__plate_sdf(&s, u, v)));
                    assert_false(isnan(nail__shape_halfwidth(&s, v)));
                }
            assert_true(nail__shape_sdf(&s, 0.0f, 0.5f * s.T) < 0.0f);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_is_a_distance_without_false_edges),
        cmocka_unit_test(base_follows_the_natural_plate),
        cmocka_unit_test(tip_at_the_requested_length),
        cmocka_unit_test(halfwidth_matches_the_outline),
        cmocka_unit_test(odd_proportions_stay_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
