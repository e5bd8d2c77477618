/*
 * test_render_pattern.c - the patterns of src/nails/render_pattern.c, on
 * one nail set up by hand: each pattern puts its colours where it should,
 * is a function of the seed and nail-space position only, and the
 * procedural ones cover a plausible share of the nail.
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

static nail__tables *tables(void)
{
    static nail__tables *t;
    if (!t) {
        t = malloc(sizeof *t);
        assert_non_null(t);
        nail__tables_init(t);
    }
    return t;
}

typedef struct fixture {
    nail_geom g;
    nail_style st;
    nail__nail n;
} fixture;

static void setup_nail(fixture *f, nail_pattern p, const nail_rgb *cols, int ncol, uint32_t seed)
{
    memset(f, 0, sizeof *f);
    f->g.width = 40.0f;
    f->g.length = 48.0f;
    f->g.foreshorten = 1.0f;
    f->g.cuticle_round = 0.8f;
    f->g.tip_round = 0.8f;
    f->st.shape = NAIL_SHAPE_OVAL;
    f->st.pattern = p;
    f->st.finish = NAIL_FINISH_GLOSSY;
    f->st.length = 1.4f;
    f->st.ncolors = ncol;
    memcpy(f->st.colors, cols, sizeof(nail_rgb) * (size_t)ncol);
    f->n.g = &f->g;
    f->n.st = &f->st;
    f->n.seed = seed;
    f->n.fs = 1.0f;
    f->n.W = f->g.width;
    nail__shape_setup(&f->n.shape, &f->g, &f->st, 1.0f);
    nail__shape_tabulate(&f->n.shape);
    nail__pattern_setup(&f->n, tables());
}

static void eval(const fixture *f, const nail__ref *ref, float u, float v, nail__surface *o)
{
    nail__pattern_eval(&f->n, tables(), ref, u, v, 1.0f / f->n.W, o);
}

static float dist3(const float a[3], const float b[3])
{
    return sqrtf((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                 (a[2] - b[2]) * (a[2] - b[2]));
}

static void lin_of(nail_rgb c, float out[3])
{
    out[0] = nail_srgb8_to_linear(c.r);
    out[1] = nail_srgb8_to_linear(c.g);
    out[2] = nail_srgb8_to_linear(c.b);
}

/* Share of the nail's samples whose albedo is farther than `far` from c. */
static float share_unlike(const fixture *f, const float c[3], float far, int *spark_count)
{
    int n = 0, unlike = 0, spark = 0;
    const nail__shape *s = &f->n.shape;
    for (float v = 0.5f; v < s->T; v += 0.7f)
        for (float u = -s->hw; u < s->hw; u += 0.7f) {
            if (nail__shape_sdf(s, u, v) > -0.5f)
                continue;
            nail__surface o;
            eval(f, NULL, u, v, &o);
            unlike += dist3(o.a, c) > far;
            spark += o.spark > 0.0f;
            n++;
        }
    if (spark_count)
        *spark_count = spark;
    return (float)unlike / (float)n;
}

static const nail_rgb RED = {200, 20, 40}, WHITE = {250, 250, 250}, NAVY = {10, 20, 90},
                      GOLD = {212, 175, 55}, GREY = {128, 128, 128};

static void solid_is_the_colour(void **state)
{
    (void)state;
    fixture f;
    setup_nail(&f, NAIL_PATTERN_SOLID, &RED, 1, 1);
    float red[3];
    lin_of(RED, red);
    assert_float_equal(share_unlike(&f, red, 1e-6f, NULL), 0.0f, 0.0);
    /* no colours at all: a default polish, never garbage */
    fixture g;
    setup_nail(&g, NAIL_PATTERN_SOLID, &RED, 0, 1);
    nail__surface o;
    eval(&g, NULL, 0.0f, 10.0f, &o);
    assert_true(o.a[0] > o.a[1] && o.a[0] > 0.2f);
}

static void ombre_blends_along_the_nail_in_oklab(void **state)
{
    (void)state;
    nail_rgb c[2] = {NAVY, WHITE};
    fixture f;
    setup_nail(&f, NAIL_PATTERN_OMBRE, c, 2, 1);
    float a[3], b[3];
    lin_of(NAVY, a);
    lin_of(WHITE, b);
    nail__surface o;
    eval(&f, NULL, 0.0f, 0.0f, &o);
    assert_true(dist3(o.a, a) < 0.01f);
    eval(&f, NULL, 0.0f, f.n.shape.T, &o);
    assert_true(dist3(o.a, b) < 0.01f);
    /* perceptual lightness rises steadily from cuticle to tip, the same
     * across the nail */
    float prev = -1.0f;
    for (float v = 0.0f; v <= f.n.shape.T; v += 0.5f) {
        eval(&f, NULL, 0.0f, v, &o);
        float lab[3];
        nail__lin_to_oklab(o.a, lab);
        assert_true(lab[0] >= prev - 1e-4f);
        prev = lab[0];
        nail__surface side;
        eval(&f, NULL, 0.8f * f.n.shape.hw, v, &side);
        assert_true(dist3(o.a, side.a) < 1e-5f);
    }
    /* every shade is a straight blend in OKLab: L, a and b are the same
     * fraction of the way from one colour to the other */
    float la[3], lb[3];
    nail__lin_to_oklab(a, la);
    nail__lin_to_oklab(b, lb);
    for (float v = 0.2f * f.n.shape.T; v < 0.8f * f.n.shape.T; v += 1.0f) {
        float lab[3];
        eval(&f, NULL, 0.0f, v, &o);
        nail__lin_to_oklab(o.a, lab);
        float k0 = (lab[0] - la[0]) / (lb[0] - la[0]);
        float k2 = (lab[2] - la[2]) / (lb[2] - la[2]);
        assert_float_equal(k0, k2, 0.03);
    }
}

static void french_tip_sits_at_the_free_edge(void **state)
{
    (void)state;
    nail_rgb c[2] = {RED, WHITE};
    fixture f;
    setup_nail(&f, NAIL_PATTERN_FRENCH_TIPS, c, 2, 1);
    float red[3], white[3];
    lin_of(RED, red);
    lin_of(WHITE, white);
    const nail__shape *s = &f.n.shape;
    nail__surface o;
    eval(&f, NULL, 0.0f, s->T - 1.0f, &o);
    assert_true(dist3(o.a, white) < 0.01f);
    eval(&f, NULL, 0.0f, 0.3f * s->L, &o);
    assert_true(dist3(o.a, red) < 0.01f);
    /* on the axis the line sits the band's depth below the tip, crisp */
    float line = -1.0f;
    for (float v = 0.0f; v < s->T; v += 0.05f) {
        eval(&f, NULL, 0.0f, v, &o);
        if (dist3(o.a, white) < dist3(o.a, red)) {
            line = v;
            break;
        }
    }
    assert_float_equal(line, s->T - f.n.french_depth, 0.6);
    /* a single colour is the tip, over a nude base */
    fixture g;
    setup_nail(&g, NAIL_PATTERN_FRENCH_TIPS, &WHITE, 1, 1);
    eval(&g, NULL, 0.0f, 0.3f * g.n.shape.L, &o);
    assert_true(dist3(o.a, g.n.nude) < 1e-5f);
}

static void glitter_is_seeded_varied_and_partial(void **state)
{
    (void)state;
    nail_rgb c[3] = {NAVY, GOLD, GREY};
    fixture f, g, h;
    setup_nail(&f, NAIL_PATTERN_GLITTER, c, 3, 7);
    setup_nail(&g, NAIL_PATTERN_GLITTER, c, 3, 7);
    setup_nail(&h, NAIL_PATTERN_GLITTER, c, 3, 8);
    float navy[3];
    lin_of(NAVY, navy);
    int sparks = 0;
    float share = share_unlike(&f, navy, 0.05f, &sparks);
    assert_true(share > 0.25f && share < 0.9f); /* flakes over a visible base */
    assert_true(sparks > 10);                   /* some flakes flash */
    int same = 1, differ = 0;
    for (float v = 1.0f; v < 40.0f; v += 0.9f)
        for (float u = -15.0f; u < 15.0f; u += 0.9f) {
            nail__surface a, b, c2;
            eval(&f, NULL, u, v, &a);
            eval(&g, NULL, u, v, &b);
            eval(&h, NULL, u, v, &c2);
            same &= dist3(a.a, b.a) == 0.0f;
            differ += dist3(a.a, c2.a) > 0.05f;
        }
    assert_true(same);
    assert_true(differ > 50);
}

static void glitter_tables_match_decoding_per_pixel(void **state)
{
    (void)state;
    /* the painter decodes a nail's flakes once into a table; the pattern
     * must come out the same as decoding every cell for every pixel, on the
     * nail and around it (cells outside the table fall back) */
    nail_rgb c[3] = {NAVY, GOLD, GREY};
    fixture f, g;
    setup_nail(&f, NAIL_PATTERN_GLITTER, c, 3, 21);
    setup_nail(&g, NAIL_PATTERN_GLITTER, c, 3, 21);
    nail__cells *cells = calloc(1, sizeof *cells);
    assert_non_null(cells);
    g.n.cells = cells;
    nail__pattern_setup(&g.n, tables());
    assert_true(cells->glit[0].nx > 0 && cells->glit[1].nx > 0);
    const float aa = nail__aa(&g.n);
    long flakes = 0;
    for (float v = -3.0f; v < g.n.shape.T + 3.0f; v += 0.37f)
        for (float u = -g.n.shape.hw - 3.0f; u < g.n.shape.hw + 3.0f; u += 0.41f) {
            nail__surface a, b;
            nail__pattern_eval(&f.n, tables(), NULL, u, v, aa, &a);
            nail__pattern_eval(&g.n, tables(), NULL, u, v, aa, &b);
            assert_memory_equal(&a, &b, sizeof a);
            flakes += a.metal > 0.0f;
        }
    assert_true(flakes > 100);
    /* another anti-aliasing width than the table's: decoded on the spot */
    nail__surface a, b;
    nail__pattern_eval(&f.n, tables(), NULL, 1.0f, 5.0f, 2.0f * aa, &a);
    nail__pattern_eval(&g.n, tables(), NULL, 1.0f, 5.0f, 2.0f * aa, &b);
    assert_memory_equal(&a, &b, sizeof a);
    free(cells);
}

static void marble_has_veins_not_noise(void **state)
{
    (void)state;
    nail_rgb c[2] = {WHITE, GREY};
    fixture f;
    setup_nail(&f, NAIL_PATTERN_MARBLE, c, 2, 3);
    float white[3];
    lin_of(WHITE, white);
    float veins = share_unlike(&f, white, 0.25f, NULL);
    assert_true(veins > 0.01f && veins < 0.35f);
    /* veins are lines: along most short steps the albedo barely changes */
    int smooth = 0, steps = 0;
    for (float v = 1.0f; v < 50.0f; v += 1.3f)
        for (float u = -15.0f; u < 15.0f; u += 1.1f) {
            nail__surface a, b;
            eval(&f, NULL, u, v, &a);
            eval(&f, NULL, u + 0.3f, v, &b);
            smooth += dist3(a.a, b.a) < 0.05f;
            steps++;
        }
    assert_true(smooth > 0.85f * steps);
}

static void floral_paints_flowers_with_centres(void **state)
{
    (void)state;
    nail_rgb c[3] = {RED, WHITE, GOLD};
    fixture f;
    setup_nail(&f, NAIL_PATTERN_FLORAL, c, 3, 5);
    assert_true(f.n.nflowers >= 1 && f.n.nflowers <= NAIL__MAX_FLOWERS);
    float white[3], gold[3], red[3];
    lin_of(WHITE, white);
    lin_of(GOLD, gold);
    lin_of(RED, red);
    int petals = 0, centres = 0, n = 0;
    const nail__shape *s = &f.n.shape;
    for (float v = 0.5f; v < s->T; v += 0.5f)
        for (float u = -s->hw; u < s->hw; u += 0.5f) {
            if (nail__shape_sdf(s, u, v) > -0.5f)
                continue;
            nail__surface o;
            eval(&f, NULL, u, v, &o);
            petals += dist3(o.a, red) > 0.3f && o.a[1] > 0.4f;
            centres += dist3(o.a, gold) < 0.12f;
            n++;
        }
    assert_true(petals > 0.05f * n && petals < 0.6f * n);
    assert_true(centres > 3);
    /* the main flower is centred: its middle is the centre colour */
    const nail__flower *m = &f.n.flower[0];
    nail__surface o;
    eval(&f, NULL, m->s * f.n.W, m->t * f.n.W, &o);
    assert_true(dist3(o.a, gold) < 0.2f);
}

static void reference_maps_tip_to_row_zero(void **state)
{
    (void)state;
    /* top half red, bottom half blue; left column green */
    enum { W = 8, H = 16 };
    float tex[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *p = tex + (y * W + x) * 3;
            p[0] = y < H / 2 ? 0.8f : 0.0f;
            p[1] = x == 0 ? 0.8f : 0.0f;
            p[2] = y < H / 2 ? 0.0f : 0.8f;
        }
    nail__ref ref = {W, H, tex};
    fixture f;
    setup_nail(&f, NAIL_PATTERN_REFERENCE, &RED, 1, 1);
    nail__surface o;
    eval(&f, &ref, 0.0f, f.n.shape.T * 0.95f, &o);
    assert_true(o.a[0] > 0.7f && o.a[2] < 0.1f);
    eval(&f, &ref, 0.0f, f.n.shape.T * 0.05f, &o);
    assert_true(o.a[2] > 0.7f && o.a[0] < 0.1f);
    eval(&f, &ref, -f.n.shape.hw, f.n.shape.T * 0.5f, &o);
    assert_true(o.a[1] > 0.7f);
    eval(&f, &ref, f.n.shape.hw, f.n.shape.T * 0.5f, &o);
    assert_true(o.a[1] < 0.1f);
    /* without a texture: the first colour */
    float red[3];
    lin_of(RED, red);
    eval(&f, NULL, 0.0f, 10.0f, &o);
    assert_true(dist3(o.a, red) < 1e-5f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(solid_is_the_colour),
        cmocka_unit_test(ombre_blends_along_the_nail_in_oklab),
        cmocka_unit_test(french_tip_sits_at_the_free_edge),
        cmocka_unit_test(glitter_is_seeded_varied_and_partial),
        cmocka_unit_test(glitter_tables_match_decoding_per_pixel),
        cmocka_unit_test(marble_has_veins_not_noise),
        cmocka_unit_test(floral_paints_flowers_with_centres),
        cmocka_unit_test(reference_maps_tip_to_row_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
