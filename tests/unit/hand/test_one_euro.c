#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "hand/one_euro.h"
#include "lq_test.h"

static const lq_one_euro_params P = LQ_ONE_EURO_HAND_DEFAULT;

/* Deterministic uniform noise in [-1, 1]. */
static float noise(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffffff) / (float)0x7fffff - 1.0f;
}

static void passes_a_constant(void **state)
{
    (void)state;
    lq_one_euro f;
    lq_one_euro_reset(&f);
    for (int i = 0; i < 100; i++)
        assert_float_equal(lq_one_euro_apply(&f, &P, 40000LL * i, 3.25f, 1.0f), 3.25f, 1e-6);
}

static void converges_on_a_step(void **state)
{
    (void)state;
    /* A 5 px jump of a 150 px hand, sampled at 25 fps. */
    lq_one_euro f;
    lq_one_euro_reset(&f);
    int64_t t = 0;
    for (int i = 0; i < 25; i++, t += 40000)
        (void)lq_one_euro_apply(&f, &P, t, 0.0f, 1.0f / 150.0f);
    float prev = 0.0f, first = -1.0f;
    for (int i = 0; i < 50; i++, t += 40000) { /* 2 s */
        const float y = lq_one_euro_apply(&f, &P, t, 5.0f, 1.0f / 150.0f);
        if (first < 0)
            first = y;
        assert_true(y >= prev - 1e-6f); /* monotone, no overshoot */
        assert_true(y <= 5.0f + 1e-5f);
        prev = y;
    }
    assert_true(first > 0.0f && first < 4.0f); /* smoothed, not passed through */
    assert_float_equal(prev, 5.0f, 0.05);      /* settled within 2 s */
}

static double rms_error(const lq_one_euro_params *p, int smooth)
{
    lq_one_euro f;
    lq_one_euro_reset(&f);
    uint32_t seed = 12345;
    double se = 0;
    int n = 0;
    for (int i = 0; i < 250; i++) {
        const float x = 100.0f + 2.0f * noise(&seed);
        const float y = smooth ? lq_one_euro_apply(&f, p, 40000LL * i, x, 1.0f / 150.0f) : x;
        if (i >= 25) {
            se += (y - 100.0) * (y - 100.0);
            n++;
        }
    }
    return sqrt(se / n);
}

static void reduces_noise_on_a_still_signal(void **state)
{
    (void)state;
    const double raw = rms_error(&P, 0), smooth = rms_error(&P, 1);
    print_message("still signal, +-2 px noise: RMS error %.3f px raw, %.3f px smoothed\n", raw,
                  smooth);
    assert_true(smooth < 0.5 * raw);
}

static void follows_fast_motion_closely(void **state)
{
    (void)state;
    /* A ramp of 3 hand sizes per second (150 px hand): the speed term opens
     * the filter, so the lag stays well under the lag of the still cutoff. */
    lq_one_euro f;
    lq_one_euro_reset(&f);
    float y = 0, x = 0;
    for (int i = 0; i < 50; i++) {
        x = 450.0f * (float)i / 25.0f;
        y = lq_one_euro_apply(&f, &P, 40000LL * i, x, 1.0f / 150.0f);
    }
    const float lag_s = (x - y) / 450.0f;
    /* A fixed first-order filter at min_cutoff lags 1/(2 pi fc) s on a ramp. */
    const float still_lag_s = 1.0f / (2.0f * (float)M_PI * P.min_cutoff);
    print_message("ramp 3 sizes/s: lag %.1f ms (a fixed %.1f Hz low-pass would lag %.1f ms)\n",
                  lag_s * 1e3f, P.min_cutoff, still_lag_s * 1e3f);
    assert_true(lag_s < 0.5f * still_lag_s);
}

static void resets(void **state)
{
    (void)state;
    lq_one_euro f;
    lq_one_euro_reset(&f);
    (void)lq_one_euro_apply(&f, &P, 0, 0.0f, 1.0f);
    assert_true(lq_one_euro_apply(&f, &P, 40000, 10.0f, 1.0f) < 10.0f);
    lq_one_euro_reset(&f);
    assert_float_equal(lq_one_euro_apply(&f, &P, 80000, 10.0f, 1.0f), 10.0f, 0);
}

static void stale_timestamps_change_nothing(void **state)
{
    (void)state;
    lq_one_euro f;
    lq_one_euro_reset(&f);
    (void)lq_one_euro_apply(&f, &P, 1000000, 1.0f, 1.0f);
    const float y = lq_one_euro_apply(&f, &P, 1040000, 2.0f, 1.0f);
    assert_float_equal(lq_one_euro_apply(&f, &P, 1040000, 50.0f, 1.0f), y, 0);
    assert_float_equal(lq_one_euro_apply(&f, &P, 900000, 50.0f, 1.0f), y, 0);
}

static void uses_the_frame_rate(void **state)
{
    (void)state;
    /* The same slow step (speed term negligible) sampled at 25 and at 100 fps
     * reaches about the same value after 0.4 s: the filter works in seconds,
     * not frames (per-frame smoothing would give 0.89 against 0.9999). */
    const float vs = 1e-6f;
    float y25 = 0, y100 = 0;
    lq_one_euro f;
    lq_one_euro_reset(&f);
    (void)lq_one_euro_apply(&f, &P, 0, 0.0f, vs);
    for (int i = 1; i <= 10; i++)
        y25 = lq_one_euro_apply(&f, &P, 40000LL * i, 1.0f, vs);
    lq_one_euro_reset(&f);
    (void)lq_one_euro_apply(&f, &P, 0, 0.0f, vs);
    for (int i = 1; i <= 40; i++)
        y100 = lq_one_euro_apply(&f, &P, 10000LL * i, 1.0f, vs);
    print_message("step after 0.4 s: %.3f at 25 fps, %.3f at 100 fps\n", y25, y100);
    assert_true(y25 < 0.99f && y100 < 0.99f);
    assert_float_equal(y25, y100, 0.05);
}

static void hand_smoothing_is_scale_invariant(void **state)
{
    (void)state;
    /* The same motion of a hand 4x larger (closer) gives exactly 4x the output. */
    lq_hand_smoother a, b;
    lq_hand_smoother_reset(&a);
    lq_hand_smoother_reset(&b);
    uint32_t seed = 99;
    for (int f = 0; f < 60; f++) {
        lq_hand ha, hb;
        memset(&ha, 0, sizeof ha);
        for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
            ha.lm[i].x = 10.0f * (float)(i % 5) + 0.5f * (float)f + noise(&seed);
            ha.lm[i].y = 8.0f * (float)(i / 5) + noise(&seed);
            ha.lm[i].z = noise(&seed);
            ha.world[i] = ha.lm[i];
        }
        hb = ha;
        for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
            hb.lm[i].x *= 4.0f, hb.lm[i].y *= 4.0f, hb.lm[i].z *= 4.0f;
        }
        lq_hand_smoother_apply(&a, &P, 40000LL * f, &ha);
        lq_hand_smoother_apply(&b, &P, 40000LL * f, &hb);
        for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
            assert_float_equal(hb.lm[i].x, 4.0f * ha.lm[i].x, 1e-3);
            assert_float_equal(hb.lm[i].y, 4.0f * ha.lm[i].y, 1e-3);
            assert_float_equal(hb.lm[i].z, 4.0f * ha.lm[i].z, 1e-3);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passes_a_constant),
        cmocka_unit_test(converges_on_a_step),
        cmocka_unit_test(reduces_noise_on_a_still_signal),
        cmocka_unit_test(follows_fast_motion_closely),
        cmocka_unit_test(resets),
        cmocka_unit_test(stale_timestamps_change_nothing),
        cmocka_unit_test(uses_the_frame_rate),
        cmocka_unit_test(hand_smoothing_is_scale_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
