#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "hand/anchors.h"
#include "lq_test.h"

static void palm_options_give_2016_anchors(void **state)
{
    (void)state;
    lq_ssd_anchor_opts o = lq_palm_anchor_opts();
    assert_int_equal(lq_ssd_anchors_count(&o), 2016);
    static lq_ssd_anchor a[LQ_PALM_NUM_ANCHORS];
    int n = 0;
    assert_int_equal(lq_ssd_anchors_generate(&o, a, LQ_PALM_NUM_ANCHORS, &n), 0);
    assert_int_equal(n, 2016);

    /* Stride 8: a 24x24 map with 2 anchors per cell (aspect 1 + interpolated). */
    assert_float_equal(a[0].x_center, 0.5f / 24.0f, 1e-7);
    assert_float_equal(a[0].y_center, 0.5f / 24.0f, 1e-7);
    assert_float_equal(a[0].w, 1.0f, 0);
    assert_float_equal(a[0].h, 1.0f, 0);
    assert_float_equal(a[1].x_center, a[0].x_center, 0);
    assert_float_equal(a[2].x_center, 1.5f / 24.0f, 1e-7);
    assert_float_equal(a[2 * 24].y_center, 1.5f / 24.0f, 1e-7);
    assert_float_equal(a[1151].x_center, 23.5f / 24.0f, 1e-7);
    assert_float_equal(a[1151].y_center, 23.5f / 24.0f, 1e-7);
    /* The three stride-16 layers merge: a 12x12 map with 6 anchors per cell. */
    for (int k = 1152; k < 1158; k++) {
        assert_float_equal(a[k].x_center, 0.5f / 12.0f, 1e-7);
        assert_float_equal(a[k].y_center, 0.5f / 12.0f, 1e-7);
    }
    assert_float_equal(a[1158].x_center, 1.5f / 12.0f, 1e-7);
    assert_float_equal(a[2015].x_center, 11.5f / 12.0f, 1e-7);
    assert_float_equal(a[2015].y_center, 11.5f / 12.0f, 1e-7);
    assert_float_equal(a[2015].w, 1.0f, 0);
}

static void anchor_sizes_follow_the_scales(void **state)
{
    (void)state;
    lq_ssd_anchor_opts o = lq_palm_anchor_opts();
    o.fixed_anchor_size = 0;
    static lq_ssd_anchor a[LQ_PALM_NUM_ANCHORS];
    int n = 0;
    assert_int_equal(lq_ssd_anchors_generate(&o, a, LQ_PALM_NUM_ANCHORS, &n), 0);
    const float s0 = 0.1484375f;
    const float s1 = 0.1484375f + (0.75f - 0.1484375f) / 3.0f;
    const float s2 = 0.1484375f + (0.75f - 0.1484375f) * 2.0f / 3.0f;
    assert_float_equal(a[0].w, s0, 1e-6);
    assert_float_equal(a[1].w, sqrtf(s0 * s1), 1e-6); /* interpolated scale */
    assert_float_equal(a[1152].w, s1, 1e-6);
    assert_float_equal(a[1153].w, sqrtf(s1 * s2), 1e-6);
    assert_float_equal(a[1156].w, 0.75f, 1e-6);
    assert_float_equal(a[1157].w, sqrtf(0.75f * 1.0f), 1e-6); /* last layer: next scale 1 */
}

static void ssd_mobilenet_config_gives_1917(void **state)
{
    (void)state;
    /* The example in MediaPipe's ssd_anchors_calculator.cc (the classic SSD
     * MobileNet set-up, known to give 1917 anchors): exercises the
     * reduce_boxes_in_lowest_layer path and several aspect ratios. */
    lq_ssd_anchor_opts o = {
        .num_layers = 6,
        .min_scale = 0.2f,
        .max_scale = 0.95f,
        .input_w = 300,
        .input_h = 300,
        .offset_x = 0.5f,
        .offset_y = 0.5f,
        .strides = {16, 32, 64, 128, 256, 512},
        .aspect_ratios = {1.0f, 2.0f, 0.5f, 3.0f, 0.3333f},
        .num_aspect_ratios = 5,
        .interpolated_scale_aspect_ratio = 1.0f,
        .reduce_boxes_in_lowest_layer = 1,
        .fixed_anchor_size = 0,
    };
    assert_int_equal(lq_ssd_anchors_count(&o), 1917);
    static lq_ssd_anchor a[1917];
    int n = 0;
    assert_int_equal(lq_ssd_anchors_generate(&o, a, 1917, &n), 0);
    assert_float_equal(a[0].w, 0.1f, 1e-6); /* predefined lowest boxes */
    assert_float_equal(a[1].w, 0.2f * sqrtf(2.0f), 1e-6);
    assert_float_equal(a[1].h, 0.2f / sqrtf(2.0f), 1e-6);
    assert_float_equal(a[0].x_center, 0.5f / 19.0f, 1e-7);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    static lq_ssd_anchor a[LQ_PALM_NUM_ANCHORS];
    int n = -1;
    lq_ssd_anchor_opts o = lq_palm_anchor_opts();
    assert_int_equal(lq_ssd_anchors_generate(&o, a, 2015, &n), LQ_ELIMIT);
    assert_int_equal(n, -1);
    o.num_layers = 0;
    assert_int_equal(lq_ssd_anchors_count(&o), LQ_EINVAL);
    o = lq_palm_anchor_opts();
    o.num_layers = LQ_SSD_MAX_LAYERS + 1;
    assert_int_equal(lq_ssd_anchors_count(&o), LQ_EINVAL);
    o = lq_palm_anchor_opts();
    o.strides[2] = 0;
    assert_int_equal(lq_ssd_anchors_count(&o), LQ_EINVAL);
    o = lq_palm_anchor_opts();
    o.input_w = -5;
    assert_int_equal(lq_ssd_anchors_count(&o), LQ_EINVAL);
    o = lq_palm_anchor_opts();
    o.aspect_ratios[0] = 0.0f;
    assert_int_equal(lq_ssd_anchors_count(&o), LQ_EINVAL);
    assert_int_equal(lq_ssd_anchors_count(NULL), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(palm_options_give_2016_anchors),
        cmocka_unit_test(anchor_sizes_follow_the_scales),
        cmocka_unit_test(ssd_mobilenet_config_gives_1917),
        cmocka_unit_test(bad_options_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
