/*
 * test_render_color.c - the renderer's tables and helpers
 * (src/nails/render_color.c): the exp table, the periodic noise tile, the
 * hash, the OKLab wrappers, and the cheap floor and nearer-side helpers.
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

static nail__tables *make_tables(void)
{
    nail__tables *t = malloc(sizeof *t);
    assert_non_null(t);
    nail__tables_init(t);
    return t;
}

static void exp_table_matches_expf(void **state)
{
    (void)state;
    nail__tables *t = make_tables();
    float worst = 0.0f;
    for (float x = 0.0f; x < NAIL__EXP_MAX; x += 0.0137f) {
        float e = fabsf(nail__expn(t, x) - expf(-x));
        worst = e > worst ? e : worst;
    }
    assert_true(worst < 2e-4f);
    assert_float_equal(nail__expn(t, 0.0f), 1.0f, 1e-7);
    assert_float_equal(nail__expn(t, -3.0f), 1.0f, 1e-7); /* clamped */
    assert_float_equal(nail__expn(t, NAN), 1.0f, 1e-7);
    assert_float_equal(nail__expn(t, 1e9f), 0.0f, 1e-7);
    free(t);
}

static void noise_is_periodic_smooth_and_spread(void **state)
{
    (void)state;
    nail__tables *t = make_tables();
    const float n = (float)NAIL__NOISE_N;
    double sum = 0, sum2 = 0;
    float lo = 1.0f, hi = 0.0f, jump = 0.0f;
    int cnt = 0;
    for (float y = -40.0f; y < 40.0f; y += 0.731f) {
        for (float x = -40.0f; x < 40.0f; x += 0.619f) {
            float v = nail__noise(t, x, y);
            assert_true(v >= 0.0f && v <= 1.0f);
            /* periodic over the tile, including negative coordinates */
            assert_float_equal(v, nail__noise(t, x + n, y - 2.0f * n), 1e-4);
            /* continuous: a small step changes it a little */
            float d = fabsf(nail__noise(t, x + 0.05f, y) - v);
            jump = d > jump ? d : jump;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
            sum2 += (double)v * v;
            cnt++;
        }
    }
    double mean = sum / cnt, sd = sqrt(sum2 / cnt - mean * mean);
    assert_true(mean > 0.35 && mean < 0.65);
    assert_true(sd > 0.08); /* not flat */
    assert_true(hi - lo > 0.5f);
    assert_true(jump < 0.05f);
    free(t);
}

static void hash_spreads_bits(void **state)
{
    (void)state;
    /* neighbouring inputs give unrelated outputs: each output bit flips for
     * about half of single-bit input changes */
    int flips[32] = {0};
    const int trials = 4000;
    for (int i = 0; i < trials; i++) {
        uint32_t x = (uint32_t)i * 2654435761u;
        uint32_t a = nail__hash(x), b = nail__hash(x ^ (1u << (i % 32)));
        for (int k = 0; k < 32; k++)
            flips[k] += ((a ^ b) >> k) & 1u;
    }
    for (int k = 0; k < 32; k++)
        assert_true(flips[k] > trials * 0.4 && flips[k] < trials * 0.6);
    /* nail__unit is in [0, 1) */
    assert_true(nail__unit(0xffffffffu) < 1.0f);
    assert_float_equal(nail__unit(0u), 0.0f, 0.0);
    assert_int_not_equal(nail__hash2(1, 2), nail__hash2(2, 1));
}

static void oklab_wrappers_round_trip(void **state)
{
    (void)state;
    for (int r = 0; r <= 4; r++)
        for (int g = 0; g <= 4; g++)
            for (int b = 0; b <= 4; b++) {
                float c[3] = {0.25f * (float)r, 0.25f * (float)g, 0.25f * (float)b}, lab[3],
                      back[3];
                nail__lin_to_oklab(c, lab);
                nail__oklab_to_lin(lab, back);
                for (int k = 0; k < 3; k++)
                    assert_float_equal(back[k], c[k], 2e-3);
            }
    float white[3] = {1, 1, 1}, lab[3];
    nail__lin_to_oklab(white, lab);
    assert_float_equal(lab[0], 1.0f, 1e-3);
    assert_float_equal(nail__luma(white), 1.0f, 1e-4);
    /* out-of-gamut OKLab comes back clamped */
    float wild[3] = {0.5f, 0.4f, -0.4f}, out[3];
    nail__oklab_to_lin(wild, out);
    for (int k = 0; k < 3; k++)
        assert_true(out[k] >= 0.0f && out[k] <= 1.0f);
}

/* nail__floori is (int)floorf and nail__nearer_side picks the side that
 * "x - floor(x) < 0.5 ? -1 : +1" picks, on integers, halves, values just
 * beside them, and tiny negatives whose fraction rounds to 1. */
static void floor_and_nearer_side_match_the_comparisons(void **state)
{
    (void)state;
    float xs[] = {0.0f,         -0.0f,      0.5f,    -0.5f,       1.0f,        -1.0f,
                  1e-9f,        -1e-9f,     -1e-30f, 0.49999997f, 0.50000006f, -0.49999997f,
                  -0.50000006f, 63.999996f, 64.0f,   -7.25f,      511.75f,     512.25f,
                  1000.5f,      -1000.5f,   3.0e6f,  -3.0e6f};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        float x = xs[i];
        int ix = nail__floori(x);
        assert_int_equal(ix, (int)floorf(x));
        int want = x - floorf(x) < 0.5f ? -1 : 1;
        assert_int_equal(nail__nearer_side(x, ix), want);
    }
    uint32_t h = 12345u;
    for (int i = 0; i < 100000; i++) {
        h = nail__hash(h + (uint32_t)i);
        float x = ((float)(h >> 8) * (1.0f / 16777216.0f) - 0.5f) * 2000.0f;
        int ix = nail__floori(x);
        assert_int_equal(ix, (int)floorf(x));
        assert_int_equal(nail__nearer_side(x, ix), x - floorf(x) < 0.5f ? -1 : 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_table_matches_expf),
        cmocka_unit_test(noise_is_periodic_smooth_and_spread),
        cmocka_unit_test(hash_spreads_bits),
        cmocka_unit_test(oklab_wrappers_round_trip),
        cmocka_unit_test(floor_and_nearer_side_match_the_comparisons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
