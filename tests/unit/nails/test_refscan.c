#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "nails/refscan.h"
#include "lq_test.h"

/* ---- synthetic scenes ---------------------------------------------------- */

static void fill(lq_image *img, int r, int g, int b)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = lq_image_px(img, x, y);
            p[0] = (uint8_t)r;
            p[1] = (uint8_t)g;
            p[2] = (uint8_t)b;
        }
}

/* Fills the ellipse centred at (cx, cy) with radii (rx, ry). */
static void ellipse(lq_image *img, float cx, float cy, float rx, float ry, int r, int g, int b)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            float dx = ((float)x + 0.5f - cx) / rx, dy = ((float)y + 0.5f - cy) / ry;
            if (dx * dx + dy * dy <= 1.0f) {
                uint8_t *p = lq_image_px(img, x, y);
                p[0] = (uint8_t)r;
                p[1] = (uint8_t)g;
                p[2] = (uint8_t)b;
            }
        }
}

/* A grey table, a skin-coloured hand (palm and three fingers pointing up)
 * and a red polished nail at the top of each finger. */
static void hand_scene(lq_image *img)
{
    fill(img, 120, 124, 128);
    ellipse(img, 160, 250, 90, 70, 224, 172, 150);
    for (int f = 0; f < 3; f++) {
        float x = 110.0f + 50.0f * (float)f;
        ellipse(img, x, 150, 18, 80, 224, 172, 150);
        ellipse(img, x, 92, 11, 17, 178, 18, 38);
    }
}

static int cls_at(const nail__scan *s, const lq_image *img, int x, int y)
{
    int cx = (int)((float)x / s->sx), cy = (int)((float)y / s->sy);
    (void)img;
    return s->cls[cy * s->w + cx];
}

/* ---- tests --------------------------------------------------------------- */

static void skin_box_and_centre_prior(void **state)
{
    (void)state;
    assert_true(nail__skin_box(224, 172, 150));
    assert_true(nail__skin_box(141, 85, 36));
    assert_false(nail__skin_box(0, 0, 255));
    assert_false(nail__skin_box(128, 128, 128));
    assert_false(nail__skin_box(20, 200, 40));
    assert_true(fabsf(nail__centre_prior(50, 50, 101, 101) - 1.0f) < 0.01f);
    assert_true(nail__centre_prior(0, 50, 101, 101) < 0.7f);
    assert_true(nail__centre_prior(0, 0, 101, 101) >= 0.2f);
    assert_true(nail__centre_prior(0, 0, 101, 101) < nail__centre_prior(0, 50, 101, 101));
}

static void classifies_background_skin_and_polish(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 320, 320), 0);
    hand_scene(&img);
    nail__scan s;
    assert_int_equal(nail__scan_create(&img, NULL, 0, 160, &s), 0);
    assert_int_equal(s.w, 160);
    assert_int_equal(s.h, 160);
    nail__scan_classify(&s);
    assert_int_equal(s.has_skin, 1);
    nail_lab skin = nail_rgb_to_oklab((nail_rgb){224, 172, 150});
    assert_true(nail_oklab_distance(s.skin, skin) < 0.01f);
    assert_int_equal(cls_at(&s, &img, 5, 5), NAIL__PX_BACKGROUND);
    assert_int_equal(cls_at(&s, &img, 300, 40), NAIL__PX_BACKGROUND);
    assert_int_equal(cls_at(&s, &img, 160, 250), NAIL__PX_SKIN);
    assert_int_equal(cls_at(&s, &img, 110, 170), NAIL__PX_SKIN);
    for (int f = 0; f < 3; f++) {
        int x = 110 + 50 * f;
        assert_int_equal(cls_at(&s, &img, x, 92), NAIL__PX_FG);
        int i = (int)(92.0f / s.sy) * s.w + (int)((float)x / s.sx);
        /* a nail: its region runs along skin and is small, so it weighs fully */
        assert_non_null(s.enclosure);
        assert_true(s.enclosure[i] > 0.9f);
        assert_true(s.region[i] >= 0);
    }
    assert_true(s.bg > 0.4f && s.bg < 0.8f);
    assert_true(s.skinf > 0.2f && s.skinf < 0.5f);
    assert_true(s.fg > 0.005f && s.fg < 0.05f);
    nail__scan_free(&s);
    nail__scan_free(&s); /* safe twice */
    lq_image_free(&img);
}

static void a_backdrop_between_fingers_weighs_little(void **state)
{
    (void)state;
    /* the table colour also shows up in a closed gap between two fingers
     * that touch at the top: not reachable from the border, but its colour
     * is the background's */
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 320, 320), 0);
    hand_scene(&img);
    ellipse(&img, 135, 60, 40, 14, 224, 172, 150); /* a bridge of skin closing the gap */
    nail__scan s;
    assert_int_equal(nail__scan_create(&img, NULL, 0, 160, &s), 0);
    nail__scan_classify(&s);
    int i = (int)(150.0f / s.sy) * s.w + (int)(135.0f / s.sx);
    assert_int_equal(s.cls[i], NAIL__PX_FG);
    assert_true(s.enclosure[i] < 0.25f);
    nail__scan_free(&s);
    lq_image_free(&img);
}

static void masked_scan_keeps_only_the_mask(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 200, 100), 0);
    fill(&img, 10, 200, 30);
    uint8_t *mask = calloc(200 * 100, 1);
    assert_non_null(mask);
    for (int y = 20; y < 60; y++)
        for (int x = 50; x < 100; x++)
            mask[y * 200 + x] = 255;
    nail__scan s;
    assert_int_equal(nail__scan_create(&img, mask, 200, 50, &s), 0);
    assert_int_equal(s.w, 50);
    assert_int_equal(s.h, 25);
    nail__scan_classify(&s);
    assert_int_equal(s.masked, 1);
    assert_int_equal(s.has_skin, 0);
    int inside = 0;
    for (int i = 0; i < s.w * s.h; i++) {
        if (s.cls[i] == NAIL__PX_FG) {
            inside++;
            assert_true(s.wgt[i] > 0.0f);
        } else {
            assert_int_equal(s.cls[i], NAIL__PX_EMPTY);
            assert_true(s.wgt[i] == 0.0f);
        }
    }
    /* cells are 4x4 pixels: x 50..99 touches cells 12..24, the first one half */
    assert_int_equal(inside, 13 * 10);
    assert_true(fabsf(s.wgt[10 * s.w + 12] - 0.5f) < 1e-6f);
    assert_true(fabsf(s.wgt[10 * s.w + 13] - 1.0f) < 1e-6f);
    assert_true(fabsf(s.fg - 1.0f) < 1e-5f);
    nail__scan_free(&s);

    memset(mask, 0, 200 * 100);
    assert_int_equal(nail__scan_create(&img, mask, 200, 50, &s), LQ_ENOTFOUND);
    assert_null(s.lab);
    free(mask);
    lq_image_free(&img);
}

static void small_images_are_not_upscaled(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 7, 3), 0);
    fill(&img, 255, 0, 0);
    nail__scan s;
    assert_int_equal(nail__scan_create(&img, NULL, 0, 160, &s), 0);
    assert_int_equal(s.w, 7);
    assert_int_equal(s.h, 3);
    nail__scan_classify(&s);
    nail_lab red = nail_rgb_to_oklab((nail_rgb){255, 0, 0});
    nail_lab got = {s.lab[0], s.lab[1], s.lab[2]};
    assert_true(nail_oklab_distance(red, got) < 1e-3f);
    nail__scan_free(&s);
    lq_image_free(&img);
}

static void refuses_bad_input(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 40, 30), 0);
    fill(&img, 1, 2, 3);
    uint8_t mask[40 * 30];
    nail__scan s;
    assert_int_equal(nail__scan_create(NULL, NULL, 0, 160, &s), LQ_EINVAL);
    assert_int_equal(nail__scan_create(&img, NULL, 0, 160, NULL), LQ_EINVAL);
    assert_int_equal(nail__scan_create(&img, NULL, 0, 15, &s), LQ_EINVAL);
    assert_int_equal(nail__scan_create(&img, NULL, 0, 513, &s), LQ_EINVAL);
    assert_int_equal(nail__scan_create(&img, mask, 39, 160, &s), LQ_EINVAL);
    lq_image bad = img;
    bad.stride = 3 * 40 - 1;
    assert_int_equal(nail__scan_create(&bad, NULL, 0, 160, &s), LQ_EINVAL);
    bad = img;
    bad.width = 0;
    assert_int_equal(nail__scan_create(&bad, NULL, 0, 160, &s), LQ_EINVAL);
    bad = img;
    bad.width = LQ_IMAGE_MAX_DIM + 1; /* refused before any pixel is read */
    assert_int_equal(nail__scan_create(&bad, NULL, 0, 160, &s), LQ_ELIMIT);
    bad.data = NULL;
    assert_int_equal(nail__scan_create(&bad, NULL, 0, 160, &s), LQ_EINVAL);
    nail__scan_classify(NULL);
    lq_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(skin_box_and_centre_prior),
        cmocka_unit_test(classifies_background_skin_and_polish),
        cmocka_unit_test(a_backdrop_between_fingers_weighs_little),
        cmocka_unit_test(masked_scan_keeps_only_the_mask),
        cmocka_unit_test(small_images_are_not_upscaled),
        cmocka_unit_test(refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
